// The daemon's answers to the mirror commands on the control socket: `rfsverify`, `rfsdiff`
// (compare both copies by content hash while the module runs) and `fullsync` (the next
// re-integration compares every file). They run on the PRIM (or ALONE) node.
import { HakitError } from '../errors/catalogue';
import type { ControlRequest } from '../control/protocol';
import type { MirrorControl, MirrorReplicationStatus } from '../module/runner/replication-mirror';
import type { TreeDifference } from '../mirror/pure/tree-diff';

export const MIRROR_COMMANDS = ['rfsverify', 'rfsdiff', 'fullsync', 'mirrorstatus'] as const;
export type MirrorCommandName = (typeof MIRROR_COMMANDS)[number];

export interface MirrorTarget {
  readonly node: string;
  moduleNames(): readonly string[];
  /** The module's replication; undefined when it replicates nothing. */
  mirror(module: string): MirrorControl | undefined;
}

export interface RfsVerifyResult {
  readonly module: string;
  readonly node: string;
  readonly differences: readonly TreeDifference[];
}
export interface FullsyncResult {
  readonly module: string;
  readonly node: string;
  readonly accepted: true;
}
export interface MirrorStatusResult extends MirrorReplicationStatus {
  readonly module: string;
  readonly node: string;
}

export function isMirrorCommand(cmd: string): cmd is MirrorCommandName {
  return (MIRROR_COMMANDS as readonly string[]).includes(cmd);
}

function mirrorOf(t: MirrorTarget, args: Record<string, unknown>): { module: string; m: MirrorControl } {
  const module = args['module'];
  if (typeof module !== 'string' || module === '') throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"module" must be a module name', 'control socket');
  if (!t.moduleNames().includes(module)) {
    throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `no module "${module}" on node ${t.node} (installed: ${t.moduleNames().join(', ') || 'none'})`, `node ${t.node}`);
  }
  const m = t.mirror(module);
  if (!m) throw new HakitError('HAKIT_E_REPL_NOT_MIRROR', `module "${module}" replicates no directory`, `node ${t.node}`);
  return { module, m };
}

export function makeMirrorHandler(t: MirrorTarget): (req: ControlRequest) => Promise<unknown> {
  return async (req) => {
    const { module, m } = mirrorOf(t, req.args as Record<string, unknown>);
    switch (req.cmd as MirrorCommandName) {
      case 'rfsverify':
      case 'rfsdiff': {
        const r: RfsVerifyResult = { module, node: t.node, differences: await m.verify() };
        return r;
      }
      case 'fullsync': {
        await m.fullsync();
        const r: FullsyncResult = { module, node: t.node, accepted: true };
        return r;
      }
      case 'mirrorstatus': {
        const r: MirrorStatusResult = { module, node: t.node, ...m.status() };
        return r;
      }
      default:
        throw new HakitError('HAKIT_E_CONTROL_UNKNOWN_COMMAND', `unknown mirror command "${req.cmd}"`, 'control socket');
    }
  };
}
