// The daemon's answers to the mirror commands on the control socket: `rfsverify`, `rfsdiff`
// (compare both copies by content hash while the module runs) and `fullsync` (the next
// re-integration compares every file). They run on the PRIM (or ALONE) node. Each verify
// that ran is kept as the module's last verify (verify-records.ts), which `mirrorstatus`
// reports.
import { HakitError, isHakitError } from '../errors/catalogue';
import type { ControlRequest } from '../control/protocol';
import type { MirrorControl, MirrorReplicationStatus } from '../module/runner/replication-mirror';
import type { TreeDifference } from '../mirror/pure/tree-diff';
import { verifyDone, verifyFailed, type VerifyRecord } from './pure/verify-record';
import type { VerifyRecordStore } from './verify-records';

export const MIRROR_COMMANDS = ['rfsverify', 'rfsdiff', 'fullsync', 'mirrorstatus'] as const;
export type MirrorCommandName = (typeof MIRROR_COMMANDS)[number];

export interface MirrorTarget {
  readonly node: string;
  moduleNames(): readonly string[];
  /** The module's replication; undefined when it replicates nothing. */
  mirror(module: string): MirrorControl | undefined;
  /** Where each module's last verify is kept; absent: not kept (tests of the commands alone). */
  readonly verify_records?: VerifyRecordStore;
  /** The clock the records are stamped with (default Date.now). */
  now_ms?(): number;
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
  /** The last rfsverify run on this node (null: none kept; absent: not kept here). */
  readonly last_verify?: VerifyRecord | null;
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
        const r: RfsVerifyResult = { module, node: t.node, differences: await verifyKept(t, module, m) };
        return r;
      }
      case 'fullsync': {
        await m.fullsync();
        const r: FullsyncResult = { module, node: t.node, accepted: true };
        return r;
      }
      case 'mirrorstatus': {
        const r: MirrorStatusResult = { module, node: t.node, ...m.status(), ...(t.verify_records ? { last_verify: t.verify_records.last(module) } : {}) };
        return r;
      }
      default:
        throw new HakitError('HAKIT_E_CONTROL_UNKNOWN_COMMAND', `unknown mirror command "${req.cmd}"`, 'control socket');
    }
  };
}

/**
 * Runs the comparison and keeps its result. A verify refused because this node is not the
 * PRIM compared nothing and is not kept (the PRIM's record stays the module's last verify);
 * one that failed while comparing is kept as failed. The record is on disk before the answer.
 */
async function verifyKept(t: MirrorTarget, module: string, m: MirrorControl): Promise<TreeDifference[]> {
  const now = (): number => (t.now_ms ? t.now_ms() : Date.now());
  const started_ms = now();
  try {
    const report = m.verifyReport ? await m.verifyReport() : { differences: await m.verify() };
    await t.verify_records?.save(module, verifyDone(started_ms, now(), report));
    return report.differences;
  } catch (e) {
    if (t.verify_records && !(isHakitError(e) && e.code === 'HAKIT_E_REPL_NOT_PRIM')) {
      const error = isHakitError(e) ? { code: e.code, message: e.message } : { code: 'HAKIT_E_INTERNAL', message: String(e) };
      await t.verify_records.save(module, verifyFailed(started_ms, now(), error)).catch(() => undefined);
    }
    throw e;
  }
}
