// Text and JSON shapes of the monitoring commands (pure): `hakit resources`, `hakit get`,
// `hakit state --json`-style collector output, and pino log lines made readable.
import type { MonitorStatus, ResourceStatus } from '../../checkers/host';
import { judgeModule, type NagiosModule } from './nagios';

export function formatResource(r: ResourceStatus): string {
  const who = r.source === 'operator' ? ' (set by hand)' : '';
  const rule = r.action === 'none' ? 'no action' : `${r.action}${r.rule ? ` by rule ${r.rule}` : ''}`;
  const head = `${r.name.padEnd(28)} ${r.state.padEnd(5)}${who}  ${rule}${r.active ? '' : '  [not checked now]'}`;
  const targets = r.targets.map((t) => `    ${t.label.padEnd(24)} ${t.state.padEnd(5)} ${t.detail}`);
  return [head, ...targets].join('\n');
}

export function formatMonitor(s: MonitorStatus): string {
  const lines = [`module ${s.module}: errd ${s.errd ? 'on' : 'off'}, checkers ${s.checkers ? 'on' : 'off'}${s.held.length ? `, held by ${s.held.join(',')}` : ''}`];
  if (s.last_rule) lines.push(`  rule applied last: ${s.last_rule.rule} (${s.last_rule.resource}: ${s.last_rule.action}, ${Math.round(s.last_rule.ms_ago / 1000)} s ago)`);
  if (s.resources.length === 0) lines.push('  no resources');
  for (const r of s.resources) lines.push(`  ${formatResource(r).replace(/\n/g, '\n  ')}`);
  return lines.join('\n');
}

/** The collector shape (SCOM, Zabbix): stable keys, one object per module. */
export interface CollectorModule {
  readonly module: string;
  readonly mode: string;
  readonly health: 'ok' | 'warning' | 'critical';
  readonly health_reason: string;
  readonly nodes: readonly { node: string; state: string; status: string; reachable: boolean }[];
  readonly resources: readonly { name: string; state: string; action: string }[];
}
export interface CollectorView {
  readonly node: string;
  readonly modules: readonly CollectorModule[];
}

const HEALTH = ['ok', 'warning', 'critical', 'critical'] as const;

export function collectorView(node: string, modules: readonly (NagiosModule & { resources?: readonly ResourceStatus[] })[]): CollectorView {
  return {
    node,
    modules: modules.map((m) => {
      const j = judgeModule(node, m);
      return {
        module: m.module,
        mode: m.mode,
        health: HEALTH[j.code],
        health_reason: j.why,
        nodes: [{ node, state: m.state, status: m.status, reachable: true }, ...m.peers.map((p) => ({ node: p.node, state: p.state ?? 'UNKNOWN', status: p.status ?? '', reachable: p.reachable }))],
        resources: (m.resources ?? []).map((r) => ({ name: r.name, state: r.state, action: r.action })),
      };
    }),
  };
}

/** One pino JSON line as `time level msg key=value…`; other lines unchanged. */
export function formatLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null) return line;
  const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
  const { time, level, msg, pid: _pid, hostname: _h, node: _n, module: _m, ...rest } = o;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const lv = typeof level === 'number' ? (LEVELS[level] ?? String(level)) : String(level ?? '');
  return `${String(time ?? '')} ${lv.padEnd(5)} ${String(msg ?? '')}${extra ? `  ${extra}` : ''}`;
}

/** The last n lines of a text (pure; `hakit log -s N`). */
export function lastLines(text: string, n: number): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return n <= 0 ? [] : lines.slice(-n);
}
