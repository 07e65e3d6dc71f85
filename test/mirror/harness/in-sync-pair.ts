// The fixture of a mirror engine test file: one MirrorPair, started before the file's tests
// (SECOND, then PRIM, waited in sync) and torn down after them, also when a start step or a
// test failed. Call it at the top level of a test file (it registers beforeAll/afterAll).
import { MirrorPair, type MirrorPairOptions } from './pair';

/** Bound on a start or a tear-down unless the file says otherwise. */
const STEP_TIMEOUT_MS = 60_000;

export interface InSyncPairSteps {
  /** Runs once the directories and the namespace exist, before either node starts: the
   *  helper scripts or files a test needs in `pair.base` or a data directory. */
  readonly beforeStart?: (pair: MirrorPair) => void;
  /** Runs once PRIM is in sync: the data every test of the file starts from, or checks. */
  readonly whenInSync?: (pair: MirrorPair) => void | Promise<void>;
  /** Runs first at tear-down: closes nodes a test started itself, before the pair stops. */
  readonly beforeStop?: () => Promise<void>;
  /** Bound on the start with `beforeStart` and `whenInSync` (default 60 s). */
  readonly start_timeout_ms?: number;
}

/** A pair in sync for the tests of this file; stopped (namespace and files removed) after them. */
export function inSyncPair(options: MirrorPairOptions, steps: InSyncPairSteps = {}): MirrorPair {
  const pair = new MirrorPair(options);
  beforeAll(async () => {
    pair.prepare();
    steps.beforeStart?.(pair);
    await pair.startSecond();
    await pair.startPrim();
    await steps.whenInSync?.(pair);
  }, steps.start_timeout_ms ?? STEP_TIMEOUT_MS);
  afterAll(async () => {
    try {
      await steps.beforeStop?.();
    } finally {
      await pair.stop();
    }
  }, STEP_TIMEOUT_MS);
  return pair;
}
