// Scenario scripts that read like the manual (docs/architecture.md, rule 7), run in the simulated cluster
// with a fixed seed; the trace they produce is compared with a checked-in golden file.
//
//   config witness=on mode=mirror profile=default seed=7 nodes=3 defaultprim=n1 failover=manual timer=8s   (first line, all optional)
//   start n1 | stop | restart | stopstart | prim | second | swap | primforce   (must be accepted)
//   refused n2 prim HAKIT_E_PEER_SERVING    (must be refused with this code)
//   failover on|off n1 ; boot on|off n1
//   crash n1 ; poweron n1 ; cut n1 n2 [lan K] [oneway] ; cut n1 w ; heal
//   resource n1 NAME up|down                (farm waitOnResources = ['net'])
//   approve n2 | deny n2                    (manual failover: must be accepted; `refused n2 approve CODE` too)
//   witness-restart                         (the arbitrator restarts from its durable record)
//   run 5s
//   expect n2 ALONE/Ready within 3s         (a state, or state/status)
//   expect-app n1                           (exactly these nodes run the application; '-' = none)
import type { NodeId } from '../../core/membership/pure/types';
import type { ModuleMode, OperatorCommand } from '../../core/module/pure/types';
import { CALM, WITNESS, World } from './world';

export interface ScenarioResult {
  readonly ok: boolean;
  readonly error: string | null;
  readonly trace: string;
}

const STATE_COMMANDS = new Set(['start', 'stop', 'restart', 'stopstart', 'prim', 'second', 'swap', 'primforce', 'approve', 'deny']);

function ms(text: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text ?? '');
  if (m === null) throw new Error(`bad duration '${text}' (use 500ms or 3s)`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

interface ScenarioConfig {
  witness: boolean;
  mode: ModuleMode;
  profile: 'default' | 'fast';
  seed: number;
  nodes: number;
  defaultprim: string | null;
  failover: 'auto' | 'manual';
  timer_ms: number | null;
}

function parseConfig(line: string | undefined): ScenarioConfig {
  const cfg: ScenarioConfig = { witness: false, mode: 'mirror', profile: 'default', seed: 1, nodes: 2, defaultprim: null, failover: 'auto', timer_ms: null };
  if (line === undefined || !line.startsWith('config')) return cfg;
  for (const kv of line.split(/\s+/).slice(1)) {
    const [k, v] = kv.split('=');
    if (k === 'witness') cfg.witness = v === 'on';
    else if (k === 'mode') cfg.mode = v as ModuleMode;
    else if (k === 'profile') cfg.profile = v === 'fast' ? 'fast' : 'default';
    else if (k === 'seed') cfg.seed = Number(v);
    else if (k === 'nodes') cfg.nodes = Number(v);
    else if (k === 'defaultprim') cfg.defaultprim = v ?? null;
    else if (k === 'failover') cfg.failover = v === 'manual' ? 'manual' : 'auto';
    else if (k === 'timer') cfg.timer_ms = ms(v);
    else throw new Error(`unknown config key ${k}`);
  }
  return cfg;
}

export function runScenario(text: string): ScenarioResult {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const cfg = parseConfig(lines[0]);
  const w = new World({
    seed: cfg.seed,
    mode: cfg.mode,
    nodes: cfg.mode === 'mirror' ? 2 : cfg.nodes,
    witness: cfg.witness,
    lans: 2,
    profile: cfg.profile,
    maxDrift: 0.002,
    policy: { waitOnResources: ['net'], defaultprim: cfg.defaultprim, failover_mode: cfg.failover, approval_timer_ms: cfg.timer_ms },
  });
  w.rates = CALM;
  try {
    for (const line of lines) {
      if (line.startsWith('config')) continue;
      w.log(`> ${line}`);
      execute(w, line);
      if (w.violations.length > 0) throw new Error(`invariant broken: ${w.violations.map((v) => v.what).join('; ')}`);
    }
    return { ok: true, error: null, trace: w.trace.join('\n') + '\n' };
  } catch (e) {
    const error = (e as Error).message;
    w.log(`FAILED: ${error}`);
    return { ok: false, error, trace: w.trace.join('\n') + '\n' };
  }
}

function execute(w: World, line: string): void {
  const [verb, ...args] = line.split(/\s+/);
  const node = (i: number): NodeId => {
    const id = args[i];
    if (id === undefined || (!w.ids.includes(id) && id !== WITNESS)) throw new Error(`no node '${id}' in '${line}'`);
    return id;
  };
  if (verb !== undefined && STATE_COMMANDS.has(verb)) {
    const effects = w.command(node(0), { kind: verb } as OperatorCommand);
    const refused = effects.find((e) => e.type === 'Refuse');
    if (refused !== undefined && refused.type === 'Refuse') throw new Error(`${line}: refused ${refused.code}: ${refused.message}`);
    return;
  }
  switch (verb) {
    case 'refused': {
      const kind = args[1];
      const effects = w.command(node(0), { kind } as OperatorCommand);
      const r = effects.find((e) => e.type === 'Refuse');
      if (r === undefined || r.type !== 'Refuse' || r.code !== args[2]) throw new Error(`${line}: expected refusal ${args[2]}, got ${r?.type === 'Refuse' ? r.code : 'acceptance'}`);
      return;
    }
    case 'failover':
    case 'boot':
      w.command(node(1), { kind: verb, on: args[0] === 'on' });
      return;
    case 'crash':
      return w.crash(node(0));
    case 'daemon-crash':
      return w.daemonCrash(node(0));
    case 'poweron':
    case 'daemon-start':
      return w.restart(node(0));
    case 'cut': {
      const lanAt = args.indexOf('lan');
      const lan = lanAt >= 0 ? Number(args[lanAt + 1]) : undefined;
      return w.cut(node(0), node(1), { ...(lan !== undefined ? { lan } : {}), oneway: args.includes('oneway') });
    }
    case 'heal':
      return w.heal();
    case 'witness-restart':
      return w.restartWitness();
    case 'resource':
      w.feedResource(node(0), args[1] ?? '', args[2] === 'up' ? 'up' : 'down');
      return;
    case 'run':
      return w.runFor(ms(args[0]));
    case 'expect': {
      const id = node(0);
      const want = args[1] ?? '';
      const within = ms(args[3]);
      const t0 = w.now;
      const ok = w.runUntil(t0 + within, () => matches(w.stateOf(id), want));
      if (!ok) throw new Error(`${line}: ${id} is ${w.stateOf(id)} after ${within} ms`);
      w.log(`ok: ${id} ${w.stateOf(id)} after ${w.now - t0} ms`);
      return;
    }
    case 'expect-app': {
      const want = args[0] === '-' ? '' : args.join(',');
      const got = w.appNodes().join(',');
      if (got !== want) throw new Error(`${line}: the application runs on '${got}'`);
      return;
    }
    default:
      throw new Error(`unknown scenario line '${line}'`);
  }
}

function matches(state: string, want: string): boolean {
  return want.includes('/') ? state === want : state.split('/')[0] === want;
}
