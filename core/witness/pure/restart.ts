// What a witness (site arbitrator) holds after its own restart, from its durable record: every
// module's epochs as recorded, and each recorded holder's lease assumed to run the longest
// lease any witness grants (MAX_WITNESS_LEASE_MS) from the restart: a lease granted before the
// restart is never given to another node early, the holder may still count on it. Not the
// restarted witness's own --lease-ms: restarted with a shorter one, it gave a lease away while
// its holder could still serve on the longer grant (found by review). The request id of the
// grant is unknown then.
// Pure, so that the simulation restarts the arbitrator exactly as hakit-witness does.
import type { WitnessModuleRecord, WitnessState } from './witness';
import { MAX_WITNESS_LEASE_MS } from '../../module/pure/policy';

export function witnessAfterRestart(saved: WitnessState, now_ms: number): WitnessState {
  const modules: Record<string, WitnessModuleRecord> = {};
  for (const [m, r] of Object.entries(saved.modules)) {
    modules[m] = { epoch: r.epoch, confirmed: r.confirmed, lease: r.lease === null ? null : { holder: r.lease.holder, until_ms: now_ms + Math.max(saved.lease_ms, MAX_WITNESS_LEASE_MS) } };
  }
  return { lease_ms: saved.lease_ms, modules };
}
