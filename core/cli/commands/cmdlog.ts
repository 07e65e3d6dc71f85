// `hakit cmdlog`: the audit log of this node (every command that changed something, from the
// CLI, the API or a peer on a user's behalf). With -H, another node's through the API.
import type { Command } from 'commander';
import { HakitError } from '../../errors/catalogue';
import { logDir } from '../../log/logs';
import { AuditLog, auditPath } from '../../api/audit';
import type { AuditPage, AuditRecord } from '../../api/contract/pure/types';
import { API_BASE } from '../../api/contract/version';
import { remoteTarget } from '../remote/host-option';

export const DEFAULT_CMDLOG_LINES = 50;
export const MAX_CMDLOG_LINES = 10_000;

export function formatAudit(r: AuditRecord): string {
  const args = Object.entries(r.args)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const result = r.ok ? 'ok' : `FAILED ${r.error?.code ?? ''}`;
  return `${r.at}  ${r.node.padEnd(10)} ${`${r.user}(${r.role})`.padEnd(22)} ${r.from.padEnd(24)} ${r.action.padEnd(14)} ${args}  -> ${result}`;
}

export function parseLines(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CMDLOG_LINES) throw new HakitError('HAKIT_E_USAGE', `-s must be an integer 1..${MAX_CMDLOG_LINES}`, 'hakit cmdlog');
  return n;
}

export function registerCmdlogCommands(program: Command): void {
  program
    .command('cmdlog')
    .description('print the audit log: who changed what, from where, when, with what result')
    .option('-s, --size <lines>', 'number of records', String(DEFAULT_CMDLOG_LINES))
    .option('--json', 'print the JSON records')
    .action(async (opts: { size: string; json?: boolean }) => {
      const n = parseLines(opts.size);
      const remote = remoteTarget();
      const recs = remote
        ? ((await remote.client.request(remote.target, 'GET', `${API_BASE}/nodes/${encodeURIComponent(remote.target.node)}/audit?lines=${n}`)) as AuditPage).records
        : new AuditLog(auditPath(logDir(process.env))).tail(n);
      if (opts.json) return void process.stdout.write(JSON.stringify(recs, null, 2) + '\n');
      if (recs.length === 0) process.stdout.write('no command recorded yet\n');
      for (const r of recs) process.stdout.write(formatAudit(r) + '\n');
    });
}
