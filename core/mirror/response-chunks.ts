// Answers that can outgrow one frame are cut into several RESP frames (all but the last
// carry FrameFlag.MORE). A 32 GiB file has 524 288 block hashes at 64 KiB blocks: 4 MiB
// of signature, over MAX_PAYLOAD_BYTES; a manifest of long paths can exceed it by entry
// count. Either used to be refused by the peer, which closed the connection, and the pass
// started again with the same answer: a loop.
import { type BlockSignature } from './blocksig/signature';
import { type ManifestEntry } from './pure/tree-diff';
import { decodeSignature, encodeSignature } from './tree-walk';

/** Payload bytes per response frame: far below MAX_PAYLOAD_BYTES (4 MiB), and large enough
 *  that a 1 TiB file's signature (128 MiB) takes 128 frames. */
export const RESPONSE_CHUNK_BYTES = 1024 * 1024;
const SIG_HEADER_BYTES = 12;
const HASH_BYTES = 8;

/** The signature as encoded parts of at most `max_bytes` each (at least one part). */
export function signatureChunks(sig: BlockSignature, max_bytes = RESPONSE_CHUNK_BYTES): Buffer[] {
  const per = Math.max(1, Math.floor((max_bytes - SIG_HEADER_BYTES) / HASH_BYTES));
  const out: Buffer[] = [];
  for (let i = 0; i < sig.hashes.length || i === 0; i += per) {
    out.push(encodeSignature({ ...sig, hashes: sig.hashes.slice(i, i + per) }));
  }
  return out;
}

/** Joins the parts of one signature answer; a malformed or inconsistent part throws. */
export function joinSignature(parts: readonly Buffer[]): BlockSignature {
  const sigs = parts.map((p) => decodeSignature(p));
  const first = sigs[0];
  if (!first) throw new RangeError('empty signature answer');
  const hashes: bigint[] = [];
  for (const s of sigs) {
    if (s.block_size_bytes !== first.block_size_bytes || s.size_bytes !== first.size_bytes) throw new RangeError('signature parts disagree');
    for (const h of s.hashes) hashes.push(h);
  }
  return { block_size_bytes: first.block_size_bytes, size_bytes: first.size_bytes, hashes };
}

/** Manifest entries as JSON bodies `{entries, more}` of at most `max_bytes` each (one entry
 *  is at most two PATH_MAX strings, so it always fits). */
export function manifestChunks(entries: readonly ManifestEntry[], max_bytes = RESPONSE_CHUNK_BYTES): Buffer[] {
  const out: Buffer[] = [];
  let cur: string[] = [];
  let curBytes = 0;
  const ENVELOPE_BYTES = 32; // {"entries":[...],"more":false}
  const flush = (more: boolean): void => {
    out.push(Buffer.from(`{"entries":[${cur.join(',')}],"more":${more}}`));
    cur = [];
    curBytes = 0;
  };
  for (const e of entries) {
    const j = JSON.stringify(e);
    const n = Buffer.byteLength(j) + 1;
    if (cur.length > 0 && curBytes + n + ENVELOPE_BYTES > max_bytes) flush(true);
    cur.push(j);
    curBytes += n;
  }
  flush(false);
  return out;
}
