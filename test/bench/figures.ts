// How every benchmark reports: a table for people, then one JSON line per figure for
// collectors, e.g. {"bench":"mirror","figure":"seq_write_vs_local","value":0.83,"unit":"x"}.

export interface Figure {
  figure: string;
  value: number;
  unit: string;
  /** What the figure was measured against, for the table only. */
  note?: string;
}

export function printFigures(bench: string, figures: readonly Figure[]): void {
  const width = Math.max(6, ...figures.map((f) => f.figure.length));
  process.stdout.write(`\n${bench}\n${'figure'.padEnd(width)}  ${'value'.padStart(12)}  unit\n`);
  for (const f of figures) {
    process.stdout.write(`${f.figure.padEnd(width)}  ${formatValue(f.value).padStart(12)}  ${f.unit}${f.note ? `  (${f.note})` : ''}\n`);
  }
  process.stdout.write('\n');
  for (const f of figures) {
    process.stdout.write(`${JSON.stringify({ bench, figure: f.figure, value: round(f.value), unit: f.unit })}\n`);
  }
}

function round(v: number): number {
  return Number.isInteger(v) ? v : Number(v.toPrecision(4));
}

function formatValue(v: number): string {
  return String(round(v));
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile (0..1) of a non-empty list, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
