// How likely a correct filter fails the spread test: each of N connections lands on a node
// with probability equal to the node's share, so a node's count is binomial(N, share). The
// test fails a node when its fraction is off by more than `tolerance × share`.

/** Upper bound of P(Z > z) for a standard normal Z, z > 0 (Mills ratio: φ(z) / z). */
export function normalTailBound(z: number): number {
  return Math.exp(-(z * z) / 2) / (Math.sqrt(2 * Math.PI) * z);
}

/**
 * Union bound over nodes and both sides of the probability that at least one node's
 * fraction leaves share·(1 ± tolerance), normal approximation of the binomial.
 */
export function spreadFalseFailureBound(connections: number, shares: readonly number[], tolerance: number): number {
  return shares.reduce((total, share) => {
    if (share <= 0 || share >= 1) return total; // a count of exactly 0 or N has no noise
    const sigma = Math.sqrt((share * (1 - share)) / connections);
    return total + 2 * normalTailBound((tolerance * share) / sigma);
  }, 0);
}
