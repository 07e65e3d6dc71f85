// What the checkers' host runs: one check per resource, each with one or more targets probed
// on their own interval with timeout and rise/fall counts.
import type { ResourceState } from '../../rules/pure/types';

export interface ProbeTiming {
  readonly interval_ms: number;
  /** A probe not finished after this long is killed/abandoned and counts as a failure. */
  readonly timeout_ms: number;
  /** Consecutive successes before the target counts as up. */
  readonly rise: number;
  /** Consecutive failures before the target counts as down. */
  readonly fall: number;
}

export type TargetWhat =
  | { readonly kind: 'tcp'; readonly addr: string; readonly port: number }
  | { readonly kind: 'ping'; readonly addr: string }
  | { readonly kind: 'intf'; readonly name: string }
  | { readonly kind: 'ip'; readonly addr: string }
  | { readonly kind: 'custom'; readonly exec: string; readonly args: readonly string[] }
  | { readonly kind: 'module'; readonly module: string; readonly at: { readonly addr: string; readonly port: number } | null }
  | { readonly kind: 'proc'; readonly name: string; readonly argregex: string | null; readonly atleast: number; readonly atmost: number };

export interface TargetSpec {
  /** For logs and `hakit state -v`: `198.18.0.1`, `198.18.0.1:80`, `eth0`, `bin/check`. */
  readonly label: string;
  readonly what: TargetWhat;
  readonly timing: ProbeTiming;
}

export interface CheckSpec {
  readonly resource: string;
  /** `any`: down when any target is down (tcp, intf, ip); `all`: down only when every target is (ping: one router answering is enough). */
  readonly downWhen: 'any' | 'all';
  readonly targets: readonly TargetSpec[];
}

export interface RiseFall {
  readonly state: ResourceState;
  readonly okRun: number;
  readonly failRun: number;
}
