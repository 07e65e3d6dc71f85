// Which descriptors of a file bypass the mount's page cache (FOPEN_DIRECT_IO), and which
// cached opens may keep the pages the kernel already holds (FOPEN_KEEP_CACHE).
// A write-only descriptor is best served direct: the writer's bytes reach us straight from
// its own pages in requests of up to max_write, instead of being copied into the mount's
// cache first (measured: 512 MiB written sequentially in 3.9 s instead of 6.1 s). But a
// direct write does not update pages another descriptor cached, so the two never coexist
// on one node: a write-only open is direct only while no descriptor of its node uses the
// cache, and any open is direct while a direct one is open. Reads of files nobody writes
// through a direct descriptor stay cached (cheap).
// Keeping the cache: every change to the real tree comes through this mount, so the
// kernel's pages of a file are stale only after direct writes it did not copy into them.
// Without FOPEN_KEEP_CACHE the kernel drops a file's pages at every open: a database whose
// backends each open a table read it again through us (PostgreSQL under pgbench: 200-1000
// READ requests a second, ~250 µs each, docs/mirror.md "Capture"). So a cached open keeps
// the pages of a node known fresh; the first cached open of a node in this session (a
// predecessor's handles are unknown) and the first after a direct one drop them.

interface NodeOpens { cached: number; direct: number }

/** How the kernel is to open a descriptor. */
export interface OpenMode {
  /** Bypass the mount's page cache (FOPEN_DIRECT_IO). */
  readonly direct: boolean;
  /** Keep the pages the kernel holds of the file (FOPEN_KEEP_CACHE; cached opens only). */
  readonly keep_cache: boolean;
}

export class CacheModes {
  private readonly byNode = new Map<number, NodeOpens>();
  private readonly byHandle = new Map<number, { node: number; direct: boolean }>();
  /** Nodes whose pages in the kernel hold nothing older than the file (see the top). */
  private readonly fresh = new Set<number>();

  /** Records descriptor `fh` of `node` and says how the kernel is to open it. */
  open(node: number, fh: number, write_only: boolean): OpenMode {
    const n = this.byNode.get(node) ?? { cached: 0, direct: 0 };
    const direct = n.direct > 0 || (write_only && n.cached === 0);
    if (direct) n.direct++;
    else n.cached++;
    this.byNode.set(node, n);
    this.byHandle.set(fh, { node, direct });
    if (direct) {
      this.fresh.delete(node);
      return { direct, keep_cache: false };
    }
    // Not fresh: this open drops the pages, after which they are.
    const keep_cache = this.fresh.has(node);
    this.fresh.add(node);
    return { direct, keep_cache };
  }

  /** The kernel forgot `node` (its pages with it). */
  forgetNode(node: number): void {
    this.fresh.delete(node);
  }

  /** Records a descriptor a dead predecessor opened, in the mode the kernel was told then. */
  adopt(node: number, fh: number, direct: boolean): void {
    if (this.byHandle.has(fh)) return;
    if (direct) this.fresh.delete(node);
    const n = this.byNode.get(node) ?? { cached: 0, direct: 0 };
    if (direct) n.direct++;
    else n.cached++;
    this.byNode.set(node, n);
    this.byHandle.set(fh, { node, direct });
  }

  /** Forgets descriptor `fh` (call before it is closed: the number may be reused at once). */
  release(fh: number): void {
    const h = this.byHandle.get(fh);
    if (!h) return;
    this.byHandle.delete(fh);
    const n = this.byNode.get(h.node);
    if (!n) return;
    if (h.direct) n.direct--;
    else n.cached--;
    if (n.cached <= 0 && n.direct <= 0) this.byNode.delete(h.node);
  }

  get openHandles(): number { return this.byHandle.size; }

  /** Some open descriptor of `node` (to act on a file that has no name any more). */
  anyHandle(node: number): number | undefined {
    for (const [fh, h] of this.byHandle) if (h.node === node) return fh;
    return undefined;
  }
}
