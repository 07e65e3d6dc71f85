// `hakit` commands that talk to the local hakitd through its control socket: module
// commands, state, waitstate, failover, boot, level.
import { moduleArg, optionalModuleArg } from '../../control/module-arg';
import { type Command, Option } from 'commander';
import { HakitError, isHakitError } from '../../errors/catalogue';
import { controlRequest } from '../../control/client';
import { controlSocketPath } from '../../control/paths';
import {
  STATE_EXIT_CODES,
  STATE_EXIT_UNKNOWN,
  type CommandResult,
  type LevelResult,
  type ModuleStatus,
  type PeerStatus,
  type StateResult,
} from '../../control/api';
import { MIRROR_STATES, FARM_STATES, type CommandKind, type ModuleStateName } from '../../module/pure/types';
import type { FarmStatus } from '../../farm/controller';
import { formatStateMonitor, withMonitors } from '../../monitor/pure/state-view';
import { lastVerifiesOf, monitorsOf, replicationsOf } from './monitor';
import { verifyLine } from '../../daemon/pure/verify-record';
import { formatApproval } from './failover';
import { formatProgress } from '../../mirror/pure/progress';
import { ACTION_EXIT_OTHER_STATE, ACTION_EXIT_TIMEOUT, WAITING_ACTIONS, actionProgress, hasMoved, type Observed } from '../pure/action-wait';

/** How often `waitstate` asks the daemon. */
export const WAITSTATE_POLL_MS = 200;
export const DEFAULT_WAITSTATE_TIMEOUT_S = 60;
/** Default bound of `hakit start|stop|prim|second|swap` (scripts have their own timeouts). */
export const DEFAULT_ACTION_TIMEOUT_S = 120;
/** Cap on `waitstate --timeout`, so a typo never waits for days. */
export const MAX_WAITSTATE_TIMEOUT_S = 24 * 3600;

const SIMPLE_COMMANDS: ReadonlyArray<{ kind: CommandKind; help: string }> = [
  { kind: 'start', help: 'start the module on this node' },
  { kind: 'stop', help: 'stop the module on this node' },
  { kind: 'restart', help: 'restart the application on this node, keeping its role' },
  { kind: 'stopstart', help: 'stop then start the module on this node' },
  { kind: 'prim', help: 'make this node primary (first start, or after a stop: this node holds the good data)' },
  { kind: 'second', help: 'make this node secondary of the running primary' },
  { kind: 'swap', help: 'swap the primary and secondary roles' },
  { kind: 'primforce', help: 'make this node primary even if its copy is not known to be complete (data loss risk)' },
];

const ALL_STATES = new Set<string>([...MIRROR_STATES, ...FARM_STATES]);

function sock(): string {
  return controlSocketPath(process.env);
}

async function sendCommand(module: string, kind: CommandKind, on?: boolean): Promise<CommandResult> {
  const command = on === undefined ? { kind } : { kind, on };
  return (await controlRequest(sock(), 'command', { module: moduleArg(module), command })) as CommandResult;
}

async function getState(module?: string): Promise<StateResult> {
  const m = optionalModuleArg(module);
  return (await controlRequest(sock(), 'state', m === undefined ? {} : { module: m })) as StateResult;
}

/** The fields of the module's mode: a farm has no data epoch, copy or failover between roles. */
export function modeFields(m: ModuleStatus): string {
  const fields = [`mode=${m.mode}`];
  if (m.mode === 'mirror') fields.push(`epoch=${m.epoch}`, `copy=${m.copyComplete ? 'complete' : 'incomplete'}`);
  if (m.mode === 'mirror') fields.push(`failover=${m.failover ? 'on' : 'off'}`);
  fields.push(`boot=${m.boot ? 'on' : 'off'}`);
  return fields.join(' ');
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** One peer: its state when reachable; when not, only that and when it was last heard. */
export function formatPeer(p: PeerStatus): string {
  const name = `  peer ${p.node.padEnd(12)}`;
  if (p.reachable) return `${name} ${(p.state ?? '-').padEnd(7)} (${p.status ?? '-'})  reachable on LAN ${p.lansUp.join(',')}`;
  const heard = p.silent_ms === undefined ? '' : p.silent_ms === null ? ', not heard since hakitd started' : `, last heard ${seconds(p.silent_ms)} ago`;
  const said = p.state ? ` (it last announced ${p.state} (${p.status ?? '-'}))` : '';
  const wire = p.wire_incompatible ? `; HAKIT_E_WIRE_INCOMPATIBLE: it speaks heartbeat wire version ${p.wire_incompatible.peer_versions}, this node ${p.wire_incompatible.own_versions}` : '';
  return `${name} unreachable${heard}${said}${wire}`;
}

function formatModule(m: ModuleStatus, verbose: boolean): string {
  const head = `${m.module.padEnd(16)} ${m.state.padEnd(7)} (${m.status})`;
  if (!verbose) return head;
  const lines = [`${head}  ${modeFields(m)}`];
  for (const p of m.peers) lines.push(formatPeer(p));
  if (m.approval) lines.push(formatApproval(m.approval));
  const farm = farmLine(m);
  if (farm) lines.push(farm);
  if (m.last_error) lines.push(`  last error: ${m.last_error.code}: ${m.last_error.message}`);
  return lines.join('\n');
}

/** Farm modules: this node's share of the 256 buckets, each member's, and the filter's state. */
function farmLine(m: ModuleStatus): string | null {
  const f = (m as ModuleStatus & { farm?: FarmStatus }).farm;
  if (!f) return null;
  const members = f.members.map((n) => `${n}=${f.counts[n] ?? 0}`).join(' ') || 'none';
  const extra = [f.leaving ? 'leaving' : '', f.waiting_for.length > 0 ? `waiting for ${f.waiting_for.join(',')} to let go` : '', f.error ? `filter error ${f.error.code}: ${f.error.message}` : ''].filter((x) => x !== '');
  return `  farm share ${f.share}  members ${members}  default owner ${f.default_owner || '-'}  filter ${f.filter}${extra.length > 0 ? '  ' + extra.join('; ') : ''}`;
}

function parseTimeout(text: string, where: string): number {
  const timeout_s = Number(text);
  if (!Number.isFinite(timeout_s) || timeout_s < 0 || timeout_s > MAX_WAITSTATE_TIMEOUT_S) {
    throw new HakitError('HAKIT_E_USAGE', `--timeout must be 0..${MAX_WAITSTATE_TIMEOUT_S} seconds`, where);
  }
  return timeout_s;
}

/**
 * Sends the action, then polls until it has finished (core/cli/pure/action-wait.ts) and prints
 * the final state. Exit 0: reached; ACTION_EXIT_OTHER_STATE: settled elsewhere;
 * ACTION_EXIT_TIMEOUT: still on its way at the deadline.
 */
async function runAndWait(module: string, kind: CommandKind, timeout_s: number): Promise<void> {
  const first = (await getState(module)).modules[0];
  await sendCommand(module, kind);
  if (!first) {
    process.stdout.write(`${module}: ${kind} accepted\n`);
    return;
  }
  const before: Observed = { state: first.state, status: first.status };
  const deadline = Date.now() + timeout_s * 1000;
  let moved = false;
  let waitSince: number | null = null;
  for (;;) {
    const m = (await getState(module)).modules[0];
    if (!m) throw new HakitError('HAKIT_E_UNKNOWN_MODULE', 'the module vanished while its action ran', `module ${module}`);
    const now: Observed = { state: m.state, status: m.status };
    moved ||= hasMoved(before, now);
    waitSince = now.state === 'WAIT' && now.status !== 'Transient' ? (waitSince ?? Date.now()) : null;
    const p = actionProgress(kind, m.mode, before, now, moved, waitSince === null ? 0 : Date.now() - waitSince);
    if (p.kind === 'reached') {
      const why = m.state === 'WAIT' ? `  (started; waiting for ${m.mode !== 'mirror' ? 'a resource' : 'its peer or `hakit prim`'})` : '';
      process.stdout.write(`${module}: ${m.state} (${m.status})${why}\n`);
      return;
    }
    if (p.kind === 'other') {
      process.stdout.write(`${module}: ${m.state} (${m.status})\n`);
      const err = m.last_error ? `; last error ${m.last_error.code}: ${m.last_error.message}` : '';
      process.stderr.write(`hakit: ${kind} ended in ${p.why}${err}\n`);
      process.exitCode = ACTION_EXIT_OTHER_STATE;
      return;
    }
    if (Date.now() >= deadline) {
      process.stdout.write(`${module}: ${m.state} (${m.status})\n`);
      process.stderr.write(`hakit: HAKIT_E_ACTION_TIMEOUT: module ${module}: ${kind} not finished after ${timeout_s} s (still ${m.state} (${m.status}))\n`);
      process.exitCode = ACTION_EXIT_TIMEOUT;
      return;
    }
    await new Promise((r) => setTimeout(r, Math.min(WAITSTATE_POLL_MS, Math.max(1, deadline - Date.now()))));
  }
}

function registerModuleCommands(program: Command): void {
  for (const c of SIMPLE_COMMANDS) {
    const cmd = program.command(c.kind).description(c.help).requiredOption('-m, --module <module>', 'module name');
    if (!WAITING_ACTIONS.has(c.kind)) {
      cmd.action(async (opts: { module: string }) => {
        await sendCommand(opts.module, c.kind);
        process.stdout.write(`${opts.module}: ${c.kind} accepted\n`);
      });
      continue;
    }
    cmd
      .description(`${c.help}; waits until it has finished and prints the final state (exit 0 reached, ${ACTION_EXIT_OTHER_STATE} ended in another state, ${ACTION_EXIT_TIMEOUT} timeout, 1 refused)`)
      .option('--no-wait', 'return once hakitd accepted the command')
      .option('--timeout <seconds>', 'give up waiting after this many seconds', String(DEFAULT_ACTION_TIMEOUT_S))
      .action(async (opts: { module: string; wait: boolean; timeout: string }) => {
        const timeout_s = parseTimeout(opts.timeout, `hakit ${c.kind}`);
        if (!opts.wait) {
          await sendCommand(opts.module, c.kind);
          process.stdout.write(`${opts.module}: ${c.kind} accepted\n`);
          return;
        }
        await runAndWait(opts.module, c.kind, timeout_s);
      });
  }
}

function registerState(program: Command): void {
  program
    .command('state')
    .description(
      'show module states. With -m M -lq: print nothing, exit STOP=0 WAIT=1 ALONE/UP=2 PRIM=3 SECOND=4, ' +
        `${STATE_EXIT_UNKNOWN} when hakitd does not answer or the module is unknown`,
    )
    .option('-m, --module <module>', 'only this module')
    .option('-v, --verbose', 'show epoch, copy, failover, boot, peers, resources, their rules and the rule applied last')
    .option('-l, --local', 'this node only (the default; kept for SafeKit habits)')
    .option('-q, --quiet', 'with -m: print nothing, answer with the exit code')
    .option('--json', 'print JSON (each module with its "monitor": resources, rules, rule applied last)')
    .action(async (opts: { module?: string; verbose?: boolean; quiet?: boolean; json?: boolean }) => {
      if (opts.quiet) {
        if (!opts.module) throw new HakitError('HAKIT_E_USAGE', '-q needs -m MODULE', 'hakit state');
        try {
          const r = await getState(opts.module);
          const m = r.modules[0];
          process.exitCode = m ? STATE_EXIT_CODES[m.state] : STATE_EXIT_UNKNOWN;
        } catch (e) {
          if (!isHakitError(e)) throw e;
          process.exitCode = STATE_EXIT_UNKNOWN;
        }
        return;
      }
      const r = await getState(opts.module);
      // Resources, their rules and the rule applied last (docs/checkers.md).
      const monitors = opts.json || opts.verbose ? await monitorsOf(r.modules.map((m) => m.module)) : new Map<string, null>();
      if (opts.json) {
        process.stdout.write(JSON.stringify(withMonitors(r, monitors), null, 2) + '\n');
        return;
      }
      if (r.modules.length === 0 && (r.not_loaded ?? []).length === 0) process.stdout.write(`node ${r.node}: no module installed\n`);
      // Mirror modules: re-integration progress (pending, shipped, rate, ETA; docs/mirror.md).
      const replications = opts.verbose ? await replicationsOf(r.modules.filter((m) => m.mode === 'mirror').map((m) => m.module)) : new Map();
      const verifies = opts.verbose ? await lastVerifiesOf(r.modules.filter((m) => m.mode === 'mirror').map((m) => m.module)) : new Map();
      for (const m of r.modules) {
        process.stdout.write(formatModule(m, Boolean(opts.verbose)) + '\n');
        const repl = replications.get(m.module);
        if (repl) process.stdout.write(formatProgress(repl) + '\n');
        const verified = verifies.get(m.module);
        if (verified) process.stdout.write(`  last verify: ${verifyLine(verified)}\n`);
        if (opts.verbose) process.stdout.write(formatStateMonitor(monitors.get(m.module) ?? null) + '\n');
      }
      for (const n of r.not_loaded ?? []) process.stdout.write(`${n.module.padEnd(16)} NOT LOADED: ${n.reason.split('\n')[0]}\n`);
    });
}

function parseStates(s: string): Set<ModuleStateName> {
  const wanted = s.split(/[,|]/).map((x) => x.trim().toUpperCase());
  for (const w of wanted) if (!ALL_STATES.has(w)) throw new HakitError('HAKIT_E_USAGE', `"${w}" is not a state (${[...ALL_STATES].join(', ')})`, 'hakit waitstate');
  return new Set(wanted as ModuleStateName[]);
}

function registerWaitstate(program: Command): void {
  program
    .command('waitstate')
    .description('wait until the module is settled (no script running) in one of the given states, e.g. PRIM or PRIM,ALONE')
    .requiredOption('-m, --module <module>', 'module name')
    .argument('<state>', 'state, or comma-separated states')
    .option('--timeout <seconds>', 'give up after this many seconds (exit 1)', String(DEFAULT_WAITSTATE_TIMEOUT_S))
    .action(async (state: string, opts: { module: string; timeout: string }) => {
      const wanted = parseStates(state);
      const timeout_s = parseTimeout(opts.timeout, 'hakit waitstate');
      const deadline = Date.now() + timeout_s * 1000;
      let last = '';
      for (;;) {
        const m = (await getState(opts.module)).modules[0];
        if (m) {
          last = `${m.state} (${m.status})`;
          if (wanted.has(m.state) && m.status !== 'Transient') {
            process.stdout.write(`${opts.module}: ${last}\n`);
            return;
          }
        }
        if (Date.now() >= deadline) {
          throw new HakitError('HAKIT_E_WAITSTATE_TIMEOUT', `still ${last || 'unknown'} after ${timeout_s} s, wanted ${[...wanted].join('|')}`, `module ${opts.module}`);
        }
        await new Promise((r) => setTimeout(r, Math.min(WAITSTATE_POLL_MS, Math.max(1, deadline - Date.now()))));
      }
    });
}

// `hakit failover on|off|approve|deny` lives in ./failover.ts.
function registerSwitches(program: Command): void {
  program
    .command('boot')
    .description('start the module when hakitd starts (on), or not (off); status prints the setting')
    .addOption(new Option('-m, --module <module>', 'module name').makeOptionMandatory())
    .argument('<mode>', 'on, off or status')
    .action(async (mode: string, opts: { module: string }) => {
      if (mode === 'status') {
        const m = (await getState(opts.module)).modules[0];
        process.stdout.write(`${opts.module}: boot ${m?.boot ? 'on' : 'off'}\n`);
        return;
      }
      if (mode !== 'on' && mode !== 'off') throw new HakitError('HAKIT_E_USAGE', `"${mode}" is not on, off or status`, 'hakit boot');
      await sendCommand(opts.module, 'boot', mode === 'on');
      process.stdout.write(`${opts.module}: boot ${mode}\n`);
    });
}

function registerLevel(program: Command): void {
  program
    .command('level')
    .description("print hakitd's log level, or set it (fatal, error, warn, info, debug, trace)")
    .argument('[level]', 'new level')
    .action(async (level?: string) => {
      const r = (await controlRequest(sock(), 'level', level ? { level } : {})) as LevelResult;
      process.stdout.write(`${r.level}\n`);
    });
}

export function registerControlCommands(program: Command): void {
  registerModuleCommands(program);
  registerState(program);
  registerWaitstate(program);
  registerSwitches(program);
  registerLevel(program);
}
