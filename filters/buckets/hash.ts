// Integer hashing for rendezvous scores. Only 32-bit integer arithmetic (Math.imul, >>>), so
// every node computes bit-identical values whatever its CPU.

/** MurmurHash3's 32-bit finaliser: spreads every input bit over the whole word. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`, finalised with fmix32. */
export function hashString32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

const GOLDEN_A = 0x9e3779b1;
const GOLDEN_B = 0x7feb352d;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * A uniform number in the open interval (0, 1) drawn from (member, bucket), with 53 random
 * bits built from two independent 32-bit hashes.
 */
export function unitInterval(memberHashA: number, memberHashB: number, bucket: number): number {
  const a = fmix32(memberHashA ^ Math.imul(bucket + 1, GOLDEN_A));
  const b = fmix32(memberHashB ^ Math.imul(bucket + 1, GOLDEN_B));
  return ((a >>> 5) * TWO_POW_26 + (b >>> 6) + 0.5) / TWO_POW_53;
}
