// What a witness (site arbitrator) holds after its own restart, from its durable record: every
// module's epochs as recorded, and each recorded holder's lease assumed to run a full lease
// length from the restart (a lease granted before the restart is never given to another node
// early: the holder may still count on it). The request id of the grant is unknown then.
// Pure, so that the simulation restarts the arbitrator exactly as hakit-witness does.
import type { WitnessModuleRecord, WitnessState } from './witness';

export function witnessAfterRestart(saved: WitnessState, now_ms: number): WitnessState {
  const modules: Record<string, WitnessModuleRecord> = {};
  for (const [m, r] of Object.entries(saved.modules)) {
    modules[m] = { epoch: r.epoch, confirmed: r.confirmed, lease: r.lease === null ? null : { holder: r.lease.holder, until_ms: now_ms + saved.lease_ms } };
  }
  return { lease_ms: saved.lease_ms, modules };
}
