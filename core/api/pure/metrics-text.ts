// Prometheus text exposition format 0.0.4 (pure): families in, text out. Names and label
// names are checked; label values are escaped (\\, \", \n) so a module or resource name can
// never break a line.
export type MetricType = 'gauge' | 'counter';
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Appended to the family name (e.g. "_total" is part of the name already; "_bucket"... unused). */
  readonly suffix?: string;
}
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function renderMetrics(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!METRIC_NAME.test(f.name) || seen.has(f.name)) continue;
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    const lines = new Set<string>();
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .filter(([k]) => LABEL_NAME.test(k) && !k.startsWith('__'))
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      const line = `${f.name}${s.suffix ?? ''}${labels ? `{${labels}}` : ''}`;
      // A duplicate series would make the whole scrape invalid: keep the first.
      if (lines.has(line)) continue;
      lines.add(line);
      out.push(`${line} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}
