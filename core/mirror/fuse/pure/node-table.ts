// Node ids handed to the kernel, and the path each one stands for. The kernel names files
// by node id and counts its references with lookups (every reply carrying an entry is one)
// and FORGET; a passthrough acts by path. A rename moves a node and everything below it; an
// unlink or a rename over a node detaches it: it keeps its id (open files still use it)
// but has no path any more, so nothing done through it is replicated under a name that now
// means another file (or none).
// Hard links share one node (as on a local file system): a regular file's node is known by
// its inode number too, and a name found with a link count above 1 whose inode already has a
// node with a name becomes another name of that node. The node keeps a name while any of
// its names is left, so a write through a descriptor of a name that was removed is
// replicated under another one, and the kernel's cached size and pages are the same for all
// names. (Inode numbers are trusted only while the node still has a name: every namespace
// change of the real directory goes through us, so a live name still means that inode.)

export interface NodeInfo {
  /** '/'-rooted path relative to the mount (one of its names), or undefined when detached. */
  path: string | undefined;
  /** Every name the node has (hard links); empty when detached. */
  readonly names: Set<string>;
  lookups: number;
  ino?: number;
}

/** What `remember` needs of a regular file to share its node among hard links. */
export interface FileIdentity {
  readonly ino: number;
  readonly nlink: number;
}

/** The whole table as plain data: what a restarted daemon needs to keep serving the node
 *  ids the kernel holds (docs/adr/0009-fuse-mount-survives-daemon.md). */
export interface NodeTableSnapshot {
  readonly next_id: number;
  /** [id, path or null when detached, every name, lookups, inode or null] */
  readonly nodes: ReadonlyArray<readonly [number, string | null, readonly string[], number, number | null]>;
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export class NodeTable {
  private readonly byId = new Map<number, NodeInfo>();
  private readonly byPath = new Map<string, number>();
  /** Regular files' nodes by inode number (hard links). */
  private readonly byIno = new Map<number, number>();
  /** Known child paths per directory path, so that a rename or unlink visits its subtree
   *  only (a scan of every known path would cost O(files) per namespace op). */
  private readonly children = new Map<string, Set<string>>();
  private nextId = 2;

  constructor() {
    this.byId.set(1, { path: '/', names: new Set(['/']), lookups: 1 });
    this.byPath.set('/', 1);
  }

  get size(): number { return this.byId.size; }

  snapshot(): NodeTableSnapshot {
    const nodes: Array<[number, string | null, string[], number, number | null]> = [];
    for (const [id, n] of this.byId) nodes.push([id, n.path ?? null, [...n.names], n.lookups, n.ino ?? null]);
    return { next_id: this.nextId, nodes };
  }

  /** The table `snapshot()` described (ids, names, lookups, hard links as they were). */
  static restore(s: NodeTableSnapshot): NodeTable {
    const t = new NodeTable();
    t.byId.clear();
    t.byPath.clear();
    for (const [id, path, names, lookups, ino] of s.nodes) {
      const info: NodeInfo = { path: path ?? undefined, names: new Set(names), lookups };
      if (ino !== null) {
        info.ino = ino;
        if (path !== null) t.byIno.set(ino, id);
      }
      t.byId.set(id, info);
      for (const name of names) t.bind(name, id);
    }
    if (!t.byId.has(1)) {
      t.byId.set(1, { path: '/', names: new Set(['/']), lookups: 1 });
      t.byPath.set('/', 1);
    }
    t.nextId = Math.max(s.next_id, ...[...t.byId.keys()].map((k) => k + 1));
    return t;
  }

  pathOf(id: number): string | undefined {
    return this.byId.get(id)?.path;
  }

  /** Another name of the file at `path` (a hard link the session has seen), if any. */
  otherNameOf(path: string): string | undefined {
    const id = this.byPath.get(path);
    if (id === undefined) return undefined;
    for (const n of this.byId.get(id)?.names ?? []) if (n !== path) return n;
    return undefined;
  }

  /** Every name of node `id` (hard links); [] when detached or unknown. */
  namesOf(id: number): string[] {
    return [...(this.byId.get(id)?.names ?? [])];
  }

  /** The node of `path` after a reply that hands it to the kernel (one more lookup).
   *  `file`: the regular file's inode and link count, so that hard links share a node. */
  remember(path: string, file?: FileIdentity): number {
    let id = this.byPath.get(path);
    if (id === undefined && file !== undefined && file.nlink > 1) {
      const other = this.byIno.get(file.ino);
      const info = other === undefined ? undefined : this.byId.get(other);
      if (info !== undefined && info.path !== undefined && info.ino === file.ino) {
        id = other!;
        info.names.add(path);
        this.bind(path, id);
      }
    }
    if (id === undefined) {
      id = this.nextId++;
      const info: NodeInfo = { path, names: new Set([path]), lookups: 0 };
      if (file !== undefined) {
        info.ino = file.ino;
        this.byIno.set(file.ino, id);
      }
      this.byId.set(id, info);
      this.bind(path, id);
    }
    this.byId.get(id)!.lookups++;
    return id;
  }

  /** The kernel still holds node `id` (it was handed out and not forgotten). */
  has(id: number): boolean { return this.byId.has(id); }

  forget(id: number, n: number): void {
    if (id === 1) return;
    const info = this.byId.get(id);
    if (!info) return;
    info.lookups -= n;
    if (info.lookups > 0) return;
    this.byId.delete(id);
    for (const name of info.names) if (this.byPath.get(name) === id) this.unbind(name);
    if (info.ino !== undefined && this.byIno.get(info.ino) === id) this.byIno.delete(info.ino);
  }

  /** `name` is no longer a name of node `id`; its path becomes another name, if any. */
  private dropName(id: number, name: string): void {
    const info = this.byId.get(id);
    if (!info) return;
    info.names.delete(name);
    if (info.path === name) info.path = info.names.values().next().value;
  }

  /** `path` no longer names its node (unlink, rmdir, or replaced by a rename). */
  detach(path: string): void {
    for (const [p, id] of this.under(path)) {
      this.unbind(p);
      this.dropName(id, p);
    }
  }

  /** `from` is now `to`: what was at `to` is detached, `from` and its subtree move. */
  rename(from: string, to: string): void {
    if (from === to) return;
    this.detach(to);
    for (const [p, id] of this.under(from)) {
      const moved = to + p.slice(from.length);
      this.unbind(p);
      this.bind(moved, id);
      const info = this.byId.get(id);
      if (info) {
        info.names.delete(p);
        info.names.add(moved);
        if (info.path === p) info.path = moved;
      }
    }
  }

  private bind(path: string, id: number): void {
    this.byPath.set(path, id);
    // Link the path into the index up to the root (or to the first link already there), so
    // that a subtree is found even when the kernel forgot an intermediate directory.
    for (let p = path; p !== '/';) {
      const parent = parentOf(p);
      let set = this.children.get(parent);
      if (!set) this.children.set(parent, (set = new Set()));
      if (set.has(p)) break;
      set.add(p);
      p = parent;
    }
  }

  private unbind(path: string): void {
    this.byPath.delete(path);
    // Unlink paths that no longer lead to any node, walking up.
    for (let p = path; p !== '/' && !this.byPath.has(p) && !this.children.has(p);) {
      const parent = parentOf(p);
      const set = this.children.get(parent);
      set?.delete(p);
      if (set?.size !== 0) break;
      this.children.delete(parent);
      p = parent;
    }
  }

  /** Every known path at or below `path` (depth first, parents first), with its node. A
   *  directory's children stay indexed while it has some, even if it was forgotten itself. */
  private under(path: string): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const stack = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const id = this.byPath.get(p);
      if (id !== undefined) out.push([p, id]);
      for (const c of this.children.get(p) ?? []) stack.push(c);
    }
    return out;
  }
}
