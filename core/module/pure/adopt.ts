// Adoption: a daemon restarted on a running node (kill -9, crash, watchdog restart) takes the
// module back from the state its previous incarnation announced, instead of leaving the
// application running unmanaged. What may be kept depends on what died with the daemon:
//  - farm: the application does not depend on hakitd; a settled UP is taken back as UP with
//    no script (the VIP is put back; the filter's buckets follow the membership view). A
//    transition cut short (Transient) is redone cleanly: stop_both, then the normal start.
//  - mirror: the capture (FUSE session) lived in the dead daemon, so the application's data
//    directory is broken (ENOTCONN) and any write since is refused by the kernel, never lost
//    silently. The application is stopped cleanly (stop_prim) and the module starts again
//    from WAIT, where the usual rules decide who serves (the SECOND may have taken over).
// The full rule and its reasons: docs/architecture.md, "Restart and adoption".
import { become, persist } from './jobs';
import type { Fx, JobStep, ModuleMachine } from './machine-state';
import type { LeftoverState } from './types';

export function adopt(m: ModuleMachine, fx: Fx, leftover: LeftoverState, now_ms: number): ModuleMachine {
  const started = persist(m, fx, { wasStarted: true });
  const cur: ModuleMachine = { ...started, pendingStart: false, startedAt_ms: now_ms };
  const what = `${leftover.state}/${leftover.status}`;
  if (m.policy.mode !== 'mirror') return adoptFarm(cur, fx, leftover, what, now_ms);
  const serving = leftover.state === 'ALONE' || leftover.state === 'PRIM';
  const steps: JobStep[] = serving ? ['stop_prim', 'vip-', 'prestart'] : leftover.state === 'SECOND' ? ['stop_second', 'prestart'] : ['prestart'];
  // stop_prim clears `app` when it ends: the application counts as running until then.
  const withApp: ModuleMachine = { ...cur, app: serving };
  return become(withApp, fx, 'WAIT', `adopt ${what}: the capture died with hakitd, restarting the module`, steps, now_ms);
}

function adoptFarm(m: ModuleMachine, fx: Fx, leftover: LeftoverState, what: string, now_ms: number): ModuleMachine {
  const vipFirst: JobStep[] = m.policy.mode === 'farm' ? ['vip+'] : [];
  if (leftover.state === 'UP' && leftover.status === 'Ready') {
    return become({ ...m, app: true }, fx, 'UP', `adopt ${what}: application left running`, vipFirst, now_ms);
  }
  if (leftover.state === 'UP') {
    // A start or stop was cut short: stop what may half run, then start as usual.
    return become({ ...m, app: true }, fx, 'UP', `adopt ${what}: transition cut short, restarting the application`, ['stop_both', 'prestart', ...vipFirst, 'start_both'], now_ms);
  }
  return become(m, fx, 'WAIT', `adopt ${what}`, ['prestart'], now_ms);
}
