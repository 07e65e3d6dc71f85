// Which queued writes SECOND applies as one pwritev: the op at the head of the apply queue
// and the ops right behind it while each is a write to the same file starting where the
// previous one ended (a bulk load's 8 KiB pages, a log's appends), up to a count and a byte
// bound. Applying them together keeps the order (they are consecutive in seq and touch
// consecutive bytes of one file) and saves a syscall, a descriptor lookup and a loop turn per
// op. Anything else ends the run: another file, a gap or an overlap, a non-write op, a
// request, or an op of another session.

export interface WriteSlot {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  /** Session epoch of the op (a run never spans two sessions). */
  readonly epoch: number;
}

/** Ops of one run at most (one iovec array: IOV_MAX is 1024 on Linux). */
export const MAX_RUN_OPS = 64;
/** Bytes of one run at most. */
export const MAX_RUN_BYTES = 1024 * 1024;

/**
 * How many items from the head of the queue form one run (at least 1). `at(i)` is the i-th
 * queued item as a write slot, or undefined when it is not a write (or past the end);
 * `at(0)` must be a write.
 */
export function writeRunLength(at: (i: number) => WriteSlot | undefined, max_ops = MAX_RUN_OPS, max_bytes = MAX_RUN_BYTES): number {
  const first = at(0);
  if (!first) throw new RangeError('writeRunLength: the head of the queue is not a write');
  let n = 1;
  let end = first.offset + first.length;
  let bytes = first.length;
  while (n < max_ops) {
    const next = at(n);
    if (!next || next.path !== first.path || next.epoch !== first.epoch || next.offset !== end || bytes + next.length > max_bytes) break;
    end += next.length;
    bytes += next.length;
    n++;
  }
  return n;
}
