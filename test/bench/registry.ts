// Every benchmark by name. Each entry takes the remaining command-line arguments.
import { mirrorBench } from './mirror';

export type Bench = (args: readonly string[]) => Promise<void>;

export const BENCHES: Record<string, Bench> = {
  mirror: mirrorBench,
};
