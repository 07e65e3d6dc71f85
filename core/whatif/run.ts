// Runs a what-if prediction off the caller's event loop: in a worker thread (worker.ts), one
// at a time per process, bounded in time and memory. Where the compiled worker is absent
// (tests running the TypeScript sources), it runs inline.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { HakitError } from '../errors/catalogue';
import { predict } from './pure/predict';
import type { WhatIfCluster, WhatIfPrediction, WhatIfScenario } from './pure/types';

/** A prediction taking longer than this is abandoned (its worker terminated). */
export const WHATIF_TIMEOUT_MS = 15_000;
/** Heap of the worker: a prediction holds a few machines per node, far below this. */
const WORKER_HEAP_MB = 128;

let running = false;

export async function predictOffLoop(cluster: WhatIfCluster, scenario: WhatIfScenario): Promise<WhatIfPrediction> {
  if (running) throw new HakitError('HAKIT_E_API_TOO_BUSY', 'another what-if prediction is running on this node; ask again in a moment', 'what-if');
  running = true;
  try {
    const file = path.join(__dirname, 'worker.js');
    if (!fs.existsSync(file)) return predict(cluster, scenario);
    return await inWorker(file, cluster, scenario);
  } finally {
    running = false;
  }
}

function inWorker(file: string, cluster: WhatIfCluster, scenario: WhatIfScenario): Promise<WhatIfPrediction> {
  return new Promise((resolve, reject) => {
    const w = new Worker(file, { workerData: { cluster, scenario }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void w.terminate();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new HakitError('HAKIT_E_WHATIF_TIMEOUT', `no prediction within ${WHATIF_TIMEOUT_MS} ms`, 'what-if'))), WHATIF_TIMEOUT_MS);
    w.once('message', (p: WhatIfPrediction) => finish(() => resolve(p)));
    w.once('error', (e) => finish(() => reject(new HakitError('HAKIT_E_WHATIF_TIMEOUT', `the prediction failed: ${e.message}`, 'what-if'))));
    w.once('exit', (code) => finish(() => reject(new HakitError('HAKIT_E_WHATIF_TIMEOUT', `the prediction's worker exited with ${code}`, 'what-if'))));
  });
}
