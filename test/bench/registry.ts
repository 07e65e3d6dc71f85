// Every benchmark by name. Each entry takes the remaining command-line arguments.
import { checkersBench } from './checkers';
import { failoverBench } from './failover';
import { farmBench } from './farm';
import { framesBench } from './frames';
import { mirrorBench } from './mirror';

export type Bench = (args: readonly string[]) => Promise<void>;

export const BENCHES: Record<string, Bench> = {
  checkers: checkersBench,
  failover: failoverBench,
  farm: farmBench,
  frames: framesBench,
  mirror: mirrorBench,
};
