// `hakit` monitoring commands: nagios, resources, get, set, errd, checker (control socket),
// log, logview, snapshot (files). See docs/checkers.md.
import fs from 'node:fs';
import path from 'node:path';
import { Argument, type Command } from 'commander';
import yazl from 'yazl';
import { HakitError, isHakitError } from '../../errors/catalogue';
import { controlRequest } from '../../control/client';
import { moduleArg, optionalModuleArg } from '../../control/module-arg';
import { controlSocketPath } from '../../control/paths';
import type { StateResult } from '../../control/api';
import { clusterXmlPath, moduleDir } from '../../config/paths';
import { DAEMON_LOG_FILE, logDir, moduleLogPath } from '../../log/logs';
import type { MonitorStatus, ResourceStatus } from '../../monitor/api';
import { collectorView, formatLogLine, formatMonitor, formatResource, lastLines } from '../../monitor/pure/format';
import { NAGIOS_UNKNOWN, nagiosUnreachable, nagiosVerdict, type NagiosModule } from '../../monitor/pure/nagios';
import { isSecretFileName, redactUserconfig } from '../../monitor/pure/redact';
import { replicationProgress, withReplication, type EngineView, type ReplicationProgress } from '../../mirror/pure/progress';
import { parseVerifyRecord, type VerifyRecord } from '../../daemon/pure/verify-record';

/** `hakit nagios` must answer within 1 s (Nagios plugin guidelines): each request gets this much. */
export const NAGIOS_REQUEST_TIMEOUT_MS = 400;
export const MONITOR_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_LOG_LINES = 50;
/** Cap on `hakit log -s`, so a typo never prints gigabytes. */
export const MAX_LOG_LINES = 100_000;
/** `hakit log` reads at most this much of the end of the file. */
export const LOG_TAIL_BYTES = 16 * 1024 * 1024;
export const LOGVIEW_POLL_MS = 250;
/** Files larger than this are cut to their last bytes in a snapshot. */
export const SNAPSHOT_MAX_FILE_BYTES = 32 * 1024 * 1024;

const sock = (): string => controlSocketPath(process.env);

function request(cmd: string, args: Record<string, unknown>, timeout_ms = MONITOR_REQUEST_TIMEOUT_MS): Promise<unknown> {
  if (args['module'] !== undefined) moduleArg(String(args['module']));
  return controlRequest(sock(), cmd, args, timeout_ms);
}

async function resourcesOrNull(module: string, timeout_ms: number): Promise<MonitorStatus | null> {
  try {
    return (await request('resources', { module }, timeout_ms)) as MonitorStatus;
  } catch (e) {
    // A daemon without monitor support (or a module without checkers) still gets a verdict.
    if (isHakitError(e) && e.code !== 'HAKIT_E_DAEMON_UNREACHABLE' && e.code !== 'HAKIT_E_CONTROL_TIMEOUT') return null;
    throw e;
  }
}

/** Each module's monitoring status for `hakit state -v|--json` (null: none for that module). */
export async function monitorsOf(modules: readonly string[], timeout_ms = MONITOR_REQUEST_TIMEOUT_MS): Promise<Map<string, MonitorStatus | null>> {
  const all = await Promise.all(modules.map(async (m) => [m, await resourcesOrNull(m, timeout_ms)] as const));
  return new Map(all);
}

/** Each mirror module's re-integration progress (absent: the module replicates nothing or the engine cannot say). */
export async function replicationsOf(modules: readonly string[], timeout_ms = MONITOR_REQUEST_TIMEOUT_MS): Promise<Map<string, ReplicationProgress>> {
  const all = await Promise.all(
    modules.map(async (m) => {
      try {
        return [m, replicationProgress((await request('mirrorstatus', { module: m }, timeout_ms)) as EngineView)] as const;
      } catch (e) {
        if (isHakitError(e) && e.code !== 'HAKIT_E_DAEMON_UNREACHABLE' && e.code !== 'HAKIT_E_CONTROL_TIMEOUT') return [m, null] as const;
        throw e;
      }
    }),
  );
  const out = new Map<string, ReplicationProgress>();
  for (const [m, p] of all) if (p) out.set(m, p);
  return out;
}

/** Each mirror module's last rfsverify on this node (absent: none kept yet, or a daemon that keeps none). */
export async function lastVerifiesOf(modules: readonly string[], timeout_ms = MONITOR_REQUEST_TIMEOUT_MS): Promise<Map<string, VerifyRecord>> {
  const out = new Map<string, VerifyRecord>();
  for (const m of modules) {
    try {
      const v = parseVerifyRecord(((await request('mirrorstatus', { module: m }, timeout_ms)) as { last_verify?: unknown }).last_verify);
      if (v) out.set(m, v);
    } catch (e) {
      if (!isHakitError(e) || e.code === 'HAKIT_E_DAEMON_UNREACHABLE' || e.code === 'HAKIT_E_CONTROL_TIMEOUT') throw e;
    }
  }
  return out;
}

async function gather(module: string | undefined, timeout_ms: number): Promise<{ node: string; modules: (NagiosModule & { resources?: readonly ResourceStatus[] })[] }> {
  const m = optionalModuleArg(module);
  const st = (await request('state', m === undefined ? {} : { module: m }, timeout_ms)) as StateResult;
  const modules = await Promise.all(
    st.modules.map(async (m) => {
      const res = await resourcesOrNull(m.module, timeout_ms);
      const down = (res?.resources ?? []).filter((r) => r.state === 'down').map((r) => r.name);
      return { module: m.module, mode: m.mode, state: m.state, status: m.status, peers: m.peers, resources_down: down, resources: res?.resources ?? [] };
    }),
  );
  return { node: st.node, modules };
}

function registerNagios(program: Command): void {
  program
    .command('nagios')
    .description('Nagios plugin: one status line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (hakitd unreachable)')
    .option('-m, --module <module>', 'only this module')
    .action(async (opts: { module?: string }) => {
      let v;
      try {
        const g = await gather(opts.module, NAGIOS_REQUEST_TIMEOUT_MS);
        v = nagiosVerdict(g.node, g.modules);
      } catch (e) {
        if (!isHakitError(e)) throw e;
        const unreachable = e.code === 'HAKIT_E_DAEMON_UNREACHABLE' || e.code === 'HAKIT_E_CONTROL_TIMEOUT';
        v = unreachable ? nagiosUnreachable(e.message) : { code: NAGIOS_UNKNOWN, line: `HAKIT UNKNOWN - ${e.code}: ${e.message.replace(/\|/g, '/')}` };
      }
      process.stdout.write(`${v.line}\n`);
      process.exitCode = v.code;
    });
  program
    .command('collect')
    .description('JSON for collectors (SCOM, Zabbix): every module with its nodes, health and resources')
    .option('-m, --module <module>', 'only this module')
    .action(async (opts: { module?: string }) => {
      const g = await gather(opts.module, MONITOR_REQUEST_TIMEOUT_MS);
      const view = collectorView(g.node, g.modules);
      // Mirror modules also carry their re-integration progress (additive field `replication`).
      const mirrors = g.modules.filter((m) => m.mode === 'mirror').map((m) => m.module);
      const repl = await replicationsOf(mirrors);
      // And the last rfsverify kept on this node (additive field `last_verify`).
      const verifies = await lastVerifiesOf(mirrors);
      const out = withReplication(view, repl);
      process.stdout.write(JSON.stringify({ ...out, modules: out.modules.map((m) => (verifies.has(m.module) ? { ...m, last_verify: verifies.get(m.module) } : m)) }, null, 2) + '\n');
    });
}

function registerResources(program: Command): void {
  program
    .command('resources')
    .description('list the resources of a module, their rules and the rule applied last')
    .requiredOption('-m, --module <module>', 'module name')
    .option('--json', 'print JSON')
    .action(async (opts: { module: string; json?: boolean }) => {
      const s = (await request('resources', { module: opts.module })) as MonitorStatus;
      process.stdout.write((opts.json ? JSON.stringify(s, null, 2) : formatMonitor(s)) + '\n');
    });
  program
    .command('get')
    .description('print the state of one resource (init, up or down)')
    .requiredOption('-m, --module <module>', 'module name')
    .requiredOption('-r, --resource <resource>', 'resource, e.g. ping.router')
    .option('-v, --verbose', 'with targets and rule')
    .action(async (opts: { module: string; resource: string; verbose?: boolean }) => {
      const r = (await request('resource-get', { module: opts.module, resource: opts.resource })) as ResourceStatus;
      process.stdout.write((opts.verbose ? formatResource(r) : r.state) + '\n');
    });
  program
    .command('set')
    .description('set a resource up or down by hand (custom checkers, tests); the failover rules act on it')
    .requiredOption('-m, --module <module>', 'module name')
    .requiredOption('-r, --resource <resource>', 'resource, e.g. custom.app')
    .requiredOption('-v, --value <value>', 'up or down')
    .action(async (opts: { module: string; resource: string; value: string }) => {
      if (opts.value !== 'up' && opts.value !== 'down') throw new HakitError('HAKIT_E_BAD_RESOURCE_VALUE', `"${opts.value}" is not up or down`, 'hakit set');
      const r = (await request('resource-set', { module: opts.module, resource: opts.resource, value: opts.value })) as ResourceStatus;
      const note = r.state === 'init' ? ' (its checker does not run in the module\'s current state: the value is not kept)' : '';
      process.stdout.write(`${opts.module}: ${r.name} ${r.state}${note}\n`);
    });
  for (const [cmd, what, help] of [
    ['errd', 'errd', 'process monitoring'],
    ['checker', 'checkers', 'every checker but errd'],
  ] as const) {
    program
      .command(cmd)
      .description(`turn ${help} of a module on or off (off: its resources go to init and no rule acts on them)`)
      .addArgument(new Argument('<mode>', 'on or off').choices(['on', 'off']))
      .requiredOption('-m, --module <module>', 'module name')
      .action(async (mode: string, opts: { module: string }) => {
        await request('monitor-switch', { module: opts.module, what, on: mode === 'on' });
        process.stdout.write(`${opts.module}: ${cmd} ${mode}\n`);
      });
  }
}

function readTail(file: string, max_bytes: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new HakitError('HAKIT_E_LOG_NOT_FOUND', 'no log file (has the module run on this node?)', file);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, max_bytes);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function logFileOf(module: string | undefined): string {
  return module !== undefined ? moduleLogPath(logDir(process.env), moduleArg(module)) : path.join(logDir(process.env), DAEMON_LOG_FILE);
}

function parseCount(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > MAX_LOG_LINES) throw new HakitError('HAKIT_E_USAGE', `-s must be an integer 0..${MAX_LOG_LINES}`, 'hakit log');
  return n;
}

function registerLogs(program: Command): void {
  program
    .command('log')
    .description("print the last lines of a module's log (hakitd's without -m)")
    .option('-m, --module <module>', 'module name')
    .option('-s, --size <lines>', 'number of lines', String(DEFAULT_LOG_LINES))
    .option('--raw', 'print the JSON lines as stored')
    .action((opts: { module?: string; size: string; raw?: boolean }) => {
      const n = parseCount(opts.size);
      for (const l of lastLines(readTail(logFileOf(opts.module), LOG_TAIL_BYTES), n)) process.stdout.write((opts.raw ? l : formatLogLine(l)) + '\n');
    });
  program
    .command('logview')
    .description("follow a module's log (Ctrl-C ends)")
    .option('-m, --module <module>', 'module name')
    .option('-s, --size <lines>', 'lines to show first', '10')
    .option('--raw', 'print the JSON lines as stored')
    .action(async (opts: { module?: string; size: string; raw?: boolean }) => {
      const file = logFileOf(opts.module);
      const fmt = (l: string): string => (opts.raw ? l : formatLogLine(l));
      for (const l of lastLines(readTail(file, LOG_TAIL_BYTES), parseCount(opts.size))) process.stdout.write(fmt(l) + '\n');
      await follow(file, fmt);
    });
}

/** Prints lines appended to file until SIGINT/SIGTERM; a truncated or rotated file is read from its start. */
function follow(file: string, fmt: (l: string) => string): Promise<void> {
  return new Promise((resolve) => {
    let pos = fs.statSync(file).size;
    let partial = '';
    const timer = setInterval(() => {
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        return;
      }
      if (size < pos) pos = 0;
      if (size === pos) return;
      const len = Math.min(size - pos, LOG_TAIL_BYTES);
      const buf = Buffer.alloc(len);
      const fd = fs.openSync(file, 'r');
      try {
        fs.readSync(fd, buf, 0, len, pos);
      } finally {
        fs.closeSync(fd);
      }
      pos += len;
      const text = partial + buf.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) process.stdout.write(fmt(l) + '\n');
    }, LOGVIEW_POLL_MS);
    const end = (): void => {
      clearInterval(timer);
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
}

function addFile(zip: yazl.ZipFile, file: string, name: string, skipped: string[]): void {
  if (isSecretFileName(path.basename(file))) {
    skipped.push(`${name} (secret)`);
    return;
  }
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return;
    const text = readTail(file, SNAPSHOT_MAX_FILE_BYTES);
    zip.addBuffer(Buffer.from(path.basename(file) === 'userconfig.xml' ? redactUserconfig(text) : text), name);
  } catch {
    skipped.push(`${name} (unreadable)`);
  }
}

function addTree(zip: yazl.ZipFile, dir: string, prefix: string, skipped: string[]): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const full = path.join(dir, n);
    const st = fs.lstatSync(full);
    if (st.isDirectory()) addTree(zip, full, `${prefix}/${n}`, skipped);
    else if (st.isFile()) addFile(zip, full, `${prefix}/${n}`, skipped);
  }
}

/** cluster.xml without the key file's path contents: the key itself is never read. */
function registerSnapshot(program: Command): void {
  program
    .command('snapshot')
    .description('write a zip for support: logs, config, state and resources of a module (secrets left out)')
    .requiredOption('-m, --module <module>', 'module name')
    .argument('<out>', 'output .zip file')
    .action(async (out: string, opts: { module: string }) => {
      moduleArg(opts.module);
      const zip = new yazl.ZipFile();
      const skipped: string[] = [];
      addFile(zip, moduleLogPath(logDir(process.env), moduleArg(opts.module)), `log/${opts.module}.log`, skipped);
      addFile(zip, path.join(logDir(process.env), DAEMON_LOG_FILE), `log/${DAEMON_LOG_FILE}`, skipped);
      addFile(zip, clusterXmlPath(process.env), 'conf/cluster.xml', skipped);
      addTree(zip, path.join(moduleDir(opts.module, process.env), 'conf'), 'module/conf', skipped);
      addTree(zip, path.join(moduleDir(opts.module, process.env), 'bin'), 'module/bin', skipped);
      for (const [name, cmd, args] of [
        ['state.json', 'state', { module: opts.module }],
        ['resources.json', 'resources', { module: opts.module }],
      ] as const) {
        try {
          zip.addBuffer(Buffer.from(JSON.stringify(await request(cmd, args, 2_000), null, 2)), name);
        } catch (e) {
          zip.addBuffer(Buffer.from(`${isHakitError(e) ? e.code : 'error'}: ${e instanceof Error ? e.message : String(e)}\n`), name.replace('.json', '.error.txt'));
        }
      }
      zip.addBuffer(Buffer.from(`hakit snapshot of module ${opts.module}, ${new Date().toISOString()}\nleft out: ${skipped.join(', ') || 'nothing'}\n`), 'README.txt');
      zip.end();
      const tmp = `${out}.tmp-${process.pid}`;
      await new Promise<void>((resolve, reject) => {
        const ws = fs.createWriteStream(tmp, { mode: 0o600 });
        zip.outputStream.pipe(ws);
        ws.on('close', () => resolve());
        ws.on('error', (e) => reject(new HakitError('HAKIT_E_SNAPSHOT', e.message, out)));
      });
      fs.renameSync(tmp, out);
      process.stdout.write(`${out}: snapshot of ${opts.module}${skipped.length ? ` (left out: ${skipped.join(', ')})` : ''}\n`);
    });
}

export function registerMonitorCommands(program: Command): void {
  registerNagios(program);
  registerResources(program);
  registerLogs(program);
  registerSnapshot(program);
}
