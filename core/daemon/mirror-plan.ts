// Where a mirror module's replication runs on this node, from the typed config: the engine
// spec (directories, exclusions, async mode, capture mode, work dir), the peer's receiver and
// this node's own receiver address. Pure mapping; the daemon performs it.
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { replicationLan } from '../config/pure/cross-check';
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from '../config/pure/types-frozen';
import type { MirrorModuleSpec } from '../mirror/engine';
import type { Endpoint } from '../module/runner/replication-mirror';

/** Replication TCP ports: MIRROR_PORT_BASE + (FNV-1a of the module name mod MIRROR_PORT_SPAN). */
export const MIRROR_PORT_BASE = 7700;
export const MIRROR_PORT_SPAN = 256;

export interface MirrorPlan {
  /** The engine spec without the key (the daemon adds the cluster key). */
  readonly spec: Omit<MirrorModuleSpec, 'key'>;
  readonly peer: Endpoint;
  readonly listen: Endpoint;
  readonly lan: string;
}

/** The module's replication port, the same on every node (both ends compute it). */
export function mirrorPort(module: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < module.length; i++) {
    h ^= module.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return MIRROR_PORT_BASE + (h % MIRROR_PORT_SPAN);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `<notreplicated path=…|regexpath=…>` of every `<replicated>` dir as engine patterns. The
 * engine applies one list to all directories of the module (paths relative to each dir).
 */
export function excludePatterns(config: DeepReadonlyUserConfig): string[] {
  const out: string[] = [];
  for (const r of config.rfs?.replicated ?? []) {
    for (const x of r.excluded) {
      const re = x.regexpath ?? (x.path !== null ? `^${escapeRe(x.path.replace(/^\/+|\/+$/g, ''))}$` : null);
      if (re === null) continue;
      out.push(x.invert ? `!${re}` : re);
    }
  }
  return out;
}

/** null when the module replicates nothing (not mirror, or no `<rfs>` directory). */
export function planMirror(name: string, config: DeepReadonlyUserConfig, cluster: DeepReadonlyClusterConfig, self: string, state_dir: string): MirrorPlan | null {
  const rfs = config.rfs;
  if (config.service.mode !== 'mirror' || rfs === null || rfs.replicated.length === 0) return null;
  const lan = replicationLan(config, cluster);
  const nodes = config.service.nodes ?? cluster.nodes.map((n) => n.name);
  const peerName = nodes.find((n) => n !== self);
  const addrOf = (node: string | undefined): string | undefined => cluster.nodes.find((n) => n.name === node)?.addrs[lan]?.addr;
  const mine = addrOf(self);
  const theirs = addrOf(peerName);
  if (peerName === undefined || mine === undefined || theirs === undefined) {
    throw new HakitError('HAKIT_E_REPL_NO_PEER', `no address on replication LAN "${lan}" for ${mine === undefined ? self : (peerName ?? 'a peer node')}`, `module ${name}`);
  }
  const port = mirrorPort(name);
  return {
    spec: {
      module: name,
      dirs: rfs.replicated.map((r) => r.dir),
      work_dir: path.join(state_dir, 'mirror', name),
      notreplicated: excludePatterns(config),
      async: rfs.async,
      bandwidth_bytes_per_s: rfs.bandwidth_bytes_per_s,
      writeback: rfs.writeback,
      sync_secondary: rfs.sync_secondary,
      ack_timeout_ms: rfs.ack_timeout_ms,
      block_size_bytes: rfs.block_size_bytes,
      protection: rfs.encrypt ? 'encrypt' : 'auth',
      mode: rfs.replicated.some((r) => r.capture === 'watch') ? 'watch' : rfs.capture,
    },
    peer: { host: theirs, port },
    listen: { host: mine, port },
    lan,
  };
}
