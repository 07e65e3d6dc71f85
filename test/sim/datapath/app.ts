// The application on PRIM: a few threads, each issuing one call at a time through the
// capture (PrimSide): writes, O_DSYNC writes, fsync of a file or of the replicated directory
// (the module-wide barrier), truncates, creates, unlinks and the atomic-replace pattern
// (write a temporary file, fsync it, rename it over the target, fsync the directory).
// Every write is tagged (ledger.ts) and the ledger hears which calls returned.
import type { Prng } from '../prng';
import { Ledger, MAX_WORDS } from './ledger';
import type { MemFs } from './memfs';
import type { PrimSide } from './prim';

export const ROOT = '/0';
const NAMES = ['a', 'b', 'c', 'd', 'e'].map((n) => `${ROOT}/${n}`);
const TEMPS = ['a', 'b', 'c'].map((n) => `${ROOT}/.${n}.tmp`);

export interface AppHost {
  readonly now: number;
  readonly rng: Prng;
  at(t: number, what: string, fn: () => void): void;
  log(msg: string): void;
  /** The PRIM's capture and file system, or undefined while there is none (daemon down, failover). */
  prim(): { side: PrimSide; fs: MemFs } | undefined;
}

type Step = (then: () => void) => void;

export class App {
  /** The application's names: path -> its file identity (follows renames). */
  names = new Map<string, number>();
  running = false;
  /** Calls answered (ok or error). */
  calls = 0;
  errors = 0;
  /** Bumped at every restart: answers to calls of an earlier life are ignored. */
  private life = 0;
  private busy = 0;
  /** Log every call (verbose replays). */
  trace = false;
  /** The names whose content the application changes for now (a database's current WAL
   *  segment and table files): the others sit idle, so PRIM's activity record cools them. */
  private focus: string[] = [];
  private focusUntil_ms = 0;

  constructor(private readonly h: AppHost, readonly ledger: Ledger, private readonly threads = 2) {}

  start(): void {
    this.running = true;
    this.life++;
    for (let i = 0; i < this.threads; i++) this.next(this.life, i);
  }

  stop(): void { this.running = false; }
  get idle(): boolean { return this.busy === 0; }

  /** The application restarts on a PRIM whose names may differ (a failover, a power cut). */
  restartOn(fs: MemFs): void {
    this.life++;
    this.busy = 0;
    // A file is the one its tags name; one identity per file: a name whose tags name nobody
    // (or a file another name holds already) keeps its old identity only if that is free.
    const names = new Map<string, number>();
    const taken = new Set<number>();
    const files = fs.tree().filter((e) => e.type === 'f' && e.path.startsWith(ROOT + '/'));
    for (const e of files) {
      const owner = this.ledger.ownerOf(e.data);
      if (owner === undefined || taken.has(owner)) continue;
      names.set(e.path, owner);
      taken.add(owner);
    }
    for (const e of files) {
      if (names.has(e.path)) continue;
      const old = this.names.get(e.path);
      const id = old !== undefined && !taken.has(old) ? old : this.ledger.newFile();
      names.set(e.path, id);
      taken.add(id);
    }
    this.names = names;
  }

  /** Calls of an earlier life never return (their process is gone). */
  abandon(): void {
    this.life++;
    this.busy = 0;
  }

  private next(life: number, thread: number): void {
    if (!this.running || life !== this.life) return;
    this.h.at(this.h.now + this.h.rng.int(2, 20), `app thread ${thread}`, () => {
      if (!this.running || life !== this.life) return;
      const p = this.h.prim();
      if (!p) { this.h.at(this.h.now + 50, 'app waits for PRIM', () => this.next(life, thread)); return; }
      this.busy++;
      this.pick(p)(() => {
        if (life !== this.life) return;
        this.busy--;
        this.next(life, thread);
      });
    });
  }

  private call(what: string, run: (answer: (err?: string) => void) => void, then: (err?: string) => void): void {
    const life = this.life;
    run((err) => {
      if (life !== this.life) return;
      this.calls++;
      if (err !== undefined) { this.errors++; this.h.log(`app: ${what} -> ${err}`); } else if (this.trace) this.h.log(`app: ${what} returned`);
      then(err);
    });
  }

  private pick(p: { side: PrimSide; fs: MemFs }): Step {
    const r = this.h.rng;
    const files = [...this.names.keys()].filter((n) => NAMES.includes(n));
    const k = r.next();
    if (files.length === 0 || (k < 0.06 && files.length < NAMES.length)) return this.create(p, r.pick(NAMES.filter((n) => !this.names.has(n))));
    if (this.h.now >= this.focusUntil_ms) {
      this.focus = r.chance(0.5) ? [r.pick(NAMES)] : [r.pick(NAMES), r.pick(NAMES)];
      this.focusUntil_ms = this.h.now + r.int(3000, 12_000);
    }
    const focused = files.filter((n) => this.focus.includes(n));
    const f = r.pick(files);
    const changed = focused.length > 0 ? r.pick(focused) : f;
    if (k < 0.45) return this.write(p, changed, false);
    if (k < 0.55) return this.write(p, changed, true);
    // Mostly the files it changes; the directory barrier (here a sync of everything) now and
    // then, so that written files stay unsynced for a while.
    if (k < 0.75) return this.fsync(p, r.chance(0.8) ? changed : f);
    if (k < 0.79) return this.truncate(p, changed);
    if (k < 0.82) return this.unlink(p, f);
    if (k < 0.83) return this.fsyncDir(p);
    return this.replace(p, changed);
  }

  private create(p: { side: PrimSide; fs: MemFs }, path: string): Step {
    return (then) => this.call(`create ${path}`, (ans) => p.side.perform({ kind: 'create', path, mode: 0o644 }, () => p.fs.create(path, 0o644), ans), (err) => {
      if (err === undefined && !this.names.has(path)) this.names.set(path, this.ledger.newFile());
      then();
    });
  }

  private write(p: { side: PrimSide; fs: MemFs }, path: string, dsync: boolean): Step {
    return (then) => {
      const file = this.names.get(path);
      if (file === undefined) { then(); return; }
      const r = this.h.rng;
      const words = r.pick([1, 8, 64, 512, r.int(1, 400)]);
      const at = r.chance(0.3) ? Math.floor(p.fs.typeOf(path) === 'f' ? p.fs.size(path) / 8 : 0) : r.int(0, MAX_WORDS - words);
      if (at + words > MAX_WORDS) { then(); return; }
      const id = this.ledger.newId();
      this.ledger.issued(id, file, 'write', at, at + words);
      const data = Ledger.dataFor(id, at, words);
      this.call(`write ${path} #${id}`, (ans) => p.side.write({ kind: 'write', path, offset: at * 8, data }, () => { p.fs.write(path, at * 8, data); if (dsync) p.fs.fsyncFile(path); }, dsync, ans), (err) => {
        if (err === undefined) {
          this.ledger.completed(id);
          // O_DSYNC: this write is on disk (here: on SECOND) when the call returns.
          if (dsync) this.ledger.acknowledge([id]);
        }
        then();
      });
    };
  }

  private truncate(p: { side: PrimSide; fs: MemFs }, path: string): Step {
    return (then) => {
      const file = this.names.get(path);
      if (file === undefined) { then(); return; }
      const words = this.h.rng.int(0, MAX_WORDS);
      const id = this.ledger.newId();
      this.ledger.issued(id, file, 'truncate', words, words);
      this.call(`truncate ${path} #${id}`, (ans) => p.side.perform({ kind: 'truncate', path, size: words * 8 }, () => p.fs.truncate(path, words * 8), ans), (err) => {
        if (err === undefined) this.ledger.completed(id);
        then();
      });
    };
  }

  private fsync(p: { side: PrimSide; fs: MemFs }, path: string): Step {
    return (then) => {
      const file = this.names.get(path);
      if (file === undefined) { then(); return; }
      const covered = this.ledger.coveredBy(file);
      this.call(`fsync ${path}`, (ans) => p.side.sync(path, () => p.fs.fsyncFile(path), ans), (err) => {
        if (err === undefined) this.ledger.acknowledge(covered);
        then();
      });
    };
  }

  /** fsync of the replicated directory: the module-wide barrier (every earlier op of every file). */
  private fsyncDir(p: { side: PrimSide; fs: MemFs }): Step {
    return (then) => {
      const covered = this.ledger.coveredBy('all');
      this.call('fsync /0', (ans) => p.side.sync(ROOT, () => p.fs.syncAll(), ans), (err) => {
        if (err === undefined) this.ledger.acknowledge(covered);
        then();
      });
    };
  }

  /** fsync of the directory after a rename: locally its names only, as on a real disk. It
   *  acknowledges no write: the renamed file's were by its own fsync, and another thread's
   *  later writes to it are not on PRIM's disk (SECOND gets the barrier all the same). */
  private namesSync(p: { side: PrimSide; fs: MemFs }): Step {
    return (then) => this.call('fsync /0 (names)', (ans) => p.side.sync(ROOT, () => p.fs.fsyncDir(), ans), () => then());
  }

  private unlink(p: { side: PrimSide; fs: MemFs }, path: string): Step {
    return (then) => this.call(`unlink ${path}`, (ans) => p.side.perform({ kind: 'unlink', path }, () => p.fs.unlink(path), ans), (err) => {
      if (err === undefined) {
        const f = this.names.get(path);
        if (f !== undefined) this.ledger.retire(f);
        this.names.delete(path);
      }
      then();
    });
  }

  /** Write a temporary file, fsync it, rename it over `target`, fsync the directory (its names). */
  private replace(p: { side: PrimSide; fs: MemFs }, target: string): Step {
    return (then) => {
      const tmp = this.h.rng.pick(TEMPS);
      if (this.names.has(tmp)) { then(); return; }
      this.create(p, tmp)(() => {
        if (!this.names.has(tmp)) { then(); return; }
        this.write(p, tmp, false)(() => this.fsync(p, tmp)(() => {
          this.call(`rename ${tmp} ${target}`, (ans) => p.side.perform({ kind: 'rename', from: tmp, to: target }, () => p.fs.rename(tmp, target), ans), (err) => {
            if (err === undefined) {
              const f = this.names.get(tmp);
              const replaced = this.names.get(target);
              if (replaced !== undefined && replaced !== f) this.ledger.retire(replaced);
              this.names.delete(tmp);
              if (f !== undefined) this.names.set(target, f);
            }
            this.namesSync(p)(then);
          });
        }));
      });
    };
  }
}
