// Adoption: a daemon restarted on a running node (kill -9, crash, watchdog restart) takes the
// module back from the state its previous incarnation announced, instead of leaving the
// application running unmanaged. What may be kept depends on what died with the daemon:
//  - farm: the application does not depend on hakitd; a settled UP is taken back as UP with
//    no script (the VIP is put back; the filter's buckets follow the membership view). A
//    transition cut short (Transient) is redone cleanly: stop_both, then the normal start.
//  - mirror, serving, with its capture kept: the FUSE connection outlived the dead daemon
//    (its /dev/fuse descriptor was in the fd store) and the new daemon serves it again; the
//    application only waited. Taken back as PRIM/ALONE with no script: the VIP is put back
//    and the PRIM engine started at once (it re-attaches the mount and ships what the SECOND
//    may lack). The usual rules then decide: a peer that took over meanwhile means split
//    brain healed by the normal yield (stop_prim), as for any two serving nodes.
//  - mirror otherwise: the capture (FUSE session) died with the daemon, so the application's
//    data directory is broken (ENOTCONN) and any write since is refused by the kernel, never
//    lost silently. The application is stopped cleanly (stop_prim) and the module starts again
//    from WAIT, where the usual rules decide who serves (the SECOND may have taken over).
// The full rule and its reasons: docs/architecture.md, "Restart and adoption".
import { become, persist } from './jobs';
import { leaveSecondBehind } from './mirror';
import type { Fx, JobStep, ModuleMachine } from './machine-state';
import type { LeftoverState } from './types';

export function adopt(m: ModuleMachine, fx: Fx, leftover: LeftoverState, now_ms: number): ModuleMachine {
  const started = persist(m, fx, { wasStarted: true });
  const cur: ModuleMachine = { ...started, pendingStart: false, startedAt_ms: now_ms };
  const what = `${leftover.state}/${leftover.status}`;
  if (m.policy.mode !== 'mirror') return adoptFarm(cur, fx, leftover, what, now_ms);
  if (keepsCapture(leftover)) {
    fx.push({ type: 'StartReplication', role: 'sender' });
    // The new engine starts ALONE (its session died with the daemon): the SECOND that followed
    // is left behind, as after a reported loss (the fence waits for it to know, docs/mirror.md).
    const behind = leftover.state === 'PRIM' ? leaveSecondBehind(cur, fx) : cur;
    const kept: ModuleMachine = { ...behind, app: true, replication: 'sender', synced: false };
    // With a witness the new daemon holds no lease yet: the serving rules stop the application
    // at once (as without a kept mount), and the VIP is not put up meanwhile.
    const steps: JobStep[] = m.policy.hasWitness ? [] : ['vip+', 'arp'];
    return become(kept, fx, leftover.state, `adopt ${what}: the capture mount outlived hakitd, application left running`, steps, now_ms);
  }
  const serving = leftover.state === 'ALONE' || leftover.state === 'PRIM';
  const steps: JobStep[] = serving ? ['stop_prim', 'vip-', 'prestart'] : leftover.state === 'SECOND' ? ['stop_second', 'prestart'] : ['prestart'];
  // stop_prim clears `app` when it ends: the application counts as running until then.
  const withApp: ModuleMachine = { ...cur, app: serving };
  return become(withApp, fx, 'WAIT', `adopt ${what}: the capture died with hakitd, restarting the module`, steps, now_ms);
}

/**
 * A mirror node that was serving keeps serving when every capture mount of the module
 * outlived the daemon and the state it announced was settled (a start_prim cut short may
 * have left the application half started: that one is restarted cleanly, as before).
 */
export function keepsCapture(leftover: LeftoverState): boolean {
  return (leftover.state === 'ALONE' || leftover.state === 'PRIM') && leftover.status !== 'Transient' && leftover.capture_kept === true;
}

function adoptFarm(m: ModuleMachine, fx: Fx, leftover: LeftoverState, what: string, now_ms: number): ModuleMachine {
  // Farm and light modules both hold their VIP while UP (a light one only if it has one).
  const vipFirst: JobStep[] = ['vip+'];
  const farm = m.policy.mode === 'farm';
  const stopApp: JobStep = farm ? 'stop_both' : 'stop_prim';
  const startApp: JobStep = farm ? 'start_both' : 'start_prim';
  if (leftover.state === 'UP' && leftover.status === 'Ready') {
    return become({ ...m, app: true }, fx, 'UP', `adopt ${what}: application left running`, vipFirst, now_ms);
  }
  if (leftover.state === 'UP') {
    // A start or stop was cut short: stop what may half run, then start as usual.
    return become({ ...m, app: true }, fx, 'UP', `adopt ${what}: transition cut short, restarting the application`, [stopApp, 'prestart', ...vipFirst, startApp], now_ms);
  }
  return become(m, fx, 'WAIT', `adopt ${what}`, ['prestart'], now_ms);
}
