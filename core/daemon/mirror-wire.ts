// Composition of one mirror module's replication: config -> MirrorPlan -> MirrorReplication
// over the real engine. Returns null when the module replicates nothing, 'not-loaded' when its
// replication cannot be placed (logged with its code; the module is then left out, because
// running it would serve unreplicated data).
import { isHakitError } from '../errors/catalogue';
import type { DeepReadonlyClusterConfig } from '../config/pure/types-frozen';
import type { LogSink } from '../log/sink';
import { startMirrorPrim, startMirrorSecond } from '../mirror/engine';
import { MirrorReplication, type MirrorEngine } from '../module/runner/replication-mirror';
import type { LoadedModule } from './module-loader';
import { mirrorPort, planMirror } from './mirror-plan';

export const REAL_MIRROR_ENGINE: MirrorEngine = {
  startPrim: (spec, peer) => startMirrorPrim(spec, peer),
  startSecond: (spec, listen, opts) => startMirrorSecond(spec, listen, opts),
};

export interface MirrorWireDeps {
  readonly loaded: LoadedModule;
  readonly cluster: DeepReadonlyClusterConfig;
  readonly node: string;
  readonly state_dir: string;
  readonly key: Buffer;
  readonly log: LogSink;
  readonly settled: () => Promise<void>;
  /** See MirrorReplicationDeps.moduleCopyComplete. */
  readonly moduleCopyComplete?: () => boolean;
  /** Mirror modules already placed on this daemon (their ports must differ). */
  readonly taken: ReadonlyMap<string, unknown>;
  readonly engine?: MirrorEngine;
}

export function makeMirrorReplication(d: MirrorWireDeps): MirrorReplication | null | 'not-loaded' {
  const name = d.loaded.plan.name;
  let plan;
  try {
    plan = planMirror(name, d.loaded.config, d.cluster, d.node, d.state_dir);
  } catch (e) {
    d.log.error({ code: isHakitError(e) ? e.code : 'HAKIT_E_REPL_NO_PEER', err: e instanceof Error ? e.message : String(e) }, 'mirror: module not loaded');
    return 'not-loaded';
  }
  if (plan === null) return null;
  const clash = [...d.taken.keys()].find((other) => mirrorPort(other) === plan.listen.port);
  if (clash !== undefined) {
    d.log.error({ code: 'HAKIT_E_REPL_PORT_CLASH', port: plan.listen.port, other: clash }, `mirror: modules ${clash} and ${name} both map to replication port ${plan.listen.port}: rename one; module not loaded`);
    return 'not-loaded';
  }
  d.log.info({ lan: plan.lan, listen: `${plan.listen.host}:${plan.listen.port}`, peer: `${plan.peer.host}:${plan.peer.port}`, dirs: plan.spec.dirs, mode: plan.spec.mode, async: plan.spec.async, frames: plan.spec.protection }, 'mirror: replication placed');
  return new MirrorReplication({
    spec: { ...plan.spec, key: d.key, peers: peerAddresses(d.cluster, plan.peer.host) },
    peer: plan.peer,
    listen: plan.listen,
    engine: d.engine ?? REAL_MIRROR_ENGINE,
    log: d.log,
    settled: d.settled,
    ...(d.moduleCopyComplete ? { moduleCopyComplete: d.moduleCopyComplete } : {}),
  });
}

/**
 * Every cluster.xml address of the node that owns `addr`: the receiver accepts replication
 * connections from these only (issue 15 item 1), whichever LAN the PRIM's route uses.
 */
export function peerAddresses(cluster: DeepReadonlyClusterConfig, addr: string): string[] {
  const peer = cluster.nodes.find((n) => Object.values(n.addrs).some((a) => a?.addr === addr));
  return peer ? Object.values(peer.addrs).flatMap((a) => (a ? [a.addr] : [])) : [addr];
}
