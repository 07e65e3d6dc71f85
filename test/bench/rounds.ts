// Side-by-side measurement in rounds, for benchmarks on a noisy machine (a Firecracker VM
// whose first touch of guest memory faults on the host, shared cores, a shared disk).
// A ratio is taken inside each round, between contenders measured seconds apart, and only
// then summarised by its median: a slow round slows both sides of its own ratio instead of
// one side of the headline. The order of the contenders alternates between rounds, so that
// neither always runs first (or right after the other's trailing writeback).

/** Round `round` runs the contenders in the given order when even, reversed when odd:
 *  A B C, C B A, A B C, ... — every pair of contenders alternates which goes first (ABBA). */
export function roundOrder<T>(contenders: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...contenders] : [...contenders].reverse();
}

/** The ratio of each round: `numerator[i] / denominator[i]`, both lists one value per round. */
export function perRoundRatios(numerator: readonly number[], denominator: readonly number[]): number[] {
  if (numerator.length !== denominator.length) {
    throw new Error(`perRoundRatios: ${numerator.length} numerators for ${denominator.length} denominators`);
  }
  return numerator.map((n, i) => n / denominator[i]!);
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median, min and max of a non-empty list. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/**
 * Whether another round still fits in the time budget: the next round is assumed to last as
 * long as the slowest one so far. At least `min_rounds` always run (a figure needs a value).
 */
export function roundFits(done: number, min_rounds: number, elapsed_ms: number, slowest_round_ms: number, budget_ms: number): boolean {
  if (done < min_rounds) return true;
  return elapsed_ms + slowest_round_ms <= budget_ms;
}
