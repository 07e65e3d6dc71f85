// One what-if prediction in a worker thread (run.ts starts it): the simulation never holds
// hakitd's event loop, which sends the heartbeats and renews the leases.
import { parentPort, workerData } from 'node:worker_threads';
import { predict } from './pure/predict';
import type { WhatIfCluster, WhatIfScenario } from './pure/types';

const input = workerData as { readonly cluster: WhatIfCluster; readonly scenario: WhatIfScenario };
parentPort?.postMessage(predict(input.cluster, input.scenario));
