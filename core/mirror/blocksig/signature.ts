// Fixed-size block signatures of a file's content: one 64-bit hash per block. Two copies of
// a file differ exactly in the blocks whose hashes differ (up to hash collisions, 2^-64).
// Leaf library: the hash function is passed in, so this file imports nothing (the runner
// gives it xxhash64 from xxhash-wasm; tests may give anything deterministic).

/** Default block size: large enough that a 1 GiB file has 16 384 hashes, small enough
 *  that a 4 KiB change ships at most 64 KiB (use a smaller size for small-write loads). */
export const DEFAULT_BLOCK_SIZE_BYTES = 64 * 1024;
export const MIN_BLOCK_SIZE_BYTES = 4 * 1024;
export const MAX_BLOCK_SIZE_BYTES = 16 * 1024 * 1024;

export type Hash64 = (bytes: Uint8Array) => bigint;

export interface BlockSignature {
  readonly block_size_bytes: number;
  readonly size_bytes: number;
  /** hashes[i] covers bytes [i*block, min((i+1)*block, size)). */
  readonly hashes: readonly bigint[];
}

export function blockCount(size_bytes: number, block_size_bytes: number): number {
  return Math.ceil(size_bytes / block_size_bytes);
}

/** Incremental signer: feed the file in order (any chunking), then finish. */
export class BlockSigner {
  private readonly hashes: bigint[] = [];
  private readonly pending: Uint8Array;
  private pendingLen = 0;
  private size = 0;

  constructor(private readonly hash: Hash64, readonly block_size_bytes = DEFAULT_BLOCK_SIZE_BYTES) {
    if (!Number.isInteger(block_size_bytes) || block_size_bytes < MIN_BLOCK_SIZE_BYTES || block_size_bytes > MAX_BLOCK_SIZE_BYTES) {
      throw new RangeError(`block size ${block_size_bytes} outside [${MIN_BLOCK_SIZE_BYTES}, ${MAX_BLOCK_SIZE_BYTES}]`);
    }
    this.pending = new Uint8Array(block_size_bytes);
  }

  update(chunk: Uint8Array): void {
    let at = 0;
    this.size += chunk.length;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, this.block_size_bytes - this.pendingLen);
      if (this.pendingLen === 0 && take === this.block_size_bytes) {
        this.hashes.push(this.hash(chunk.subarray(at, at + take)));
      } else {
        this.pending.set(chunk.subarray(at, at + take), this.pendingLen);
        this.pendingLen += take;
        if (this.pendingLen === this.block_size_bytes) {
          this.hashes.push(this.hash(this.pending));
          this.pendingLen = 0;
        }
      }
      at += take;
    }
  }

  finish(): BlockSignature {
    if (this.pendingLen > 0) {
      this.hashes.push(this.hash(this.pending.subarray(0, this.pendingLen)));
      this.pendingLen = 0;
    }
    return { block_size_bytes: this.block_size_bytes, size_bytes: this.size, hashes: this.hashes.slice() };
  }
}

export function signBytes(hash: Hash64, data: Uint8Array, block_size_bytes = DEFAULT_BLOCK_SIZE_BYTES): BlockSignature {
  const s = new BlockSigner(hash, block_size_bytes);
  s.update(data);
  return s.finish();
}

/** Byte range [start, end) of one block. */
export interface BlockRange { readonly start: number; readonly end: number }

/**
 * The byte ranges of `local` that must be shipped so that a copy with signature `remote`
 * becomes equal to `local` (after truncating it to local.size_bytes). Adjacent blocks are
 * merged. Both signatures must use the same block size.
 */
export function differingRanges(local: BlockSignature, remote: BlockSignature): BlockRange[] {
  if (local.block_size_bytes !== remote.block_size_bytes) {
    throw new RangeError(`block sizes differ: ${local.block_size_bytes} vs ${remote.block_size_bytes}`);
  }
  const bs = local.block_size_bytes;
  const out: BlockRange[] = [];
  for (let i = 0; i < local.hashes.length; i++) {
    const start = i * bs;
    const end = Math.min(start + bs, local.size_bytes);
    // A last block that was partial on the remote side differs even with equal prefix bytes.
    const remoteEnd = Math.min(start + bs, remote.size_bytes);
    if (local.hashes[i] === remote.hashes[i] && end === remoteEnd) continue;
    const last = out[out.length - 1];
    if (last && last.end === start) out[out.length - 1] = { start: last.start, end };
    else out.push({ start, end });
  }
  return out;
}

export function signaturesEqual(a: BlockSignature, b: BlockSignature): boolean {
  return a.size_bytes === b.size_bytes && a.block_size_bytes === b.block_size_bytes
    && a.hashes.length === b.hashes.length && a.hashes.every((h, i) => h === b.hashes[i]);
}
