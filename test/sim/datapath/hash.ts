// A deterministic 64-bit block hash for the simulation's signatures (two FNV-1a lanes):
// the runner uses xxhash64 (core/mirror/hash.ts), which loads asynchronously.
export function simHash64(bytes: Uint8Array): bigint {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193) >>> 0;
    b = Math.imul(b ^ bytes[i]! ^ (i & 0xff), 0x01000193) >>> 0;
  }
  return (BigInt(a) << 32n) | BigInt(b);
}
