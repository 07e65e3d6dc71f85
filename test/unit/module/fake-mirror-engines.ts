// Fake mirror engines for the runner's unit tests (core/module/runner/replication-mirror.ts):
// they emit what the test makes them emit and count what the runner asks of them.
import { EventEmitter } from 'node:events';
import { MirrorReplication, type MirrorEngine } from '../../../core/module/runner/replication-mirror';
import type { MirrorPrim, MirrorSecond, MirrorStatus } from '../../../core/mirror/engine';
import type { HakitError } from '../../../core/errors/catalogue';
import { SILENT_LOG } from '../../../core/log/sink';

export class FakePrim extends EventEmitter<{ status: [MirrorStatus]; fence_wanted: []; problem: [Error] }> {
  constructor(public needsFence = true) {
    super();
  }
  journalProblem: HakitError | undefined = undefined;
  /** What the engine reported while it started, before the runner listened. */
  lastStatus: MirrorStatus | undefined = undefined;
  fencedCalls = 0;
  peerLostCalls = 0;
  fenced(): void { this.fencedCalls++; this.needsFence = false; }
  peerLost(): void { this.peerLostCalls++; }
  async stop(): Promise<void> {}
}

export class FakeSecond extends EventEmitter<{ status: [MirrorStatus] }> {
  complete = true;
  receiver = { bytesApplied: 0, opsApplied: 0, foreignRefused: 0 };
  async stop(): Promise<void> {}
}

/** A runner of module `db` over `engine`. */
export function mirrorRunner(engine: MirrorEngine, log = SILENT_LOG, moduleCopyComplete?: () => boolean): MirrorReplication {
  return new MirrorReplication({ spec: { module: 'db', dirs: ['/srv/db'], work_dir: '/tmp/x', key: Buffer.alloc(32), async: 'none' }, peer: { host: '198.18.0.2', port: 1 }, listen: { host: '198.18.0.1', port: 1 }, engine, log, settled: async () => undefined, ...(moduleCopyComplete ? { moduleCopyComplete } : {}) });
}

/** The engine that hands out these fakes, each new one appended to `prims` or `seconds`. */
export function fakeEngine(prims: FakePrim[] = [], seconds: FakeSecond[] = [], makePrim = (): FakePrim => new FakePrim()): MirrorEngine {
  return {
    startPrim: async () => { prims.push(makePrim()); return prims.at(-1) as unknown as MirrorPrim; },
    startSecond: async () => { seconds.push(new FakeSecond()); return seconds.at(-1) as unknown as MirrorSecond; },
  };
}
