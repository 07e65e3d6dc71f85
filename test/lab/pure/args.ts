// Parses the lab CLI's arguments into a command. Pure: the CLI maps `ok: false` to exit 2.

export type LabCommand =
  | { kind: 'help' }
  | { kind: 'up'; nodes: number; client: boolean; witness: boolean; lans: number; packaged: boolean }
  | { kind: 'status'; json: boolean }
  | { kind: 'down' }
  | { kind: 'exec'; host: string; argv: string[] }
  | { kind: 'kill'; host: string }
  | { kind: 'start'; host: string; unit: 'hakitd' | 'hakit-witness' }
  | { kind: 'poweron'; host: string }
  | { kind: 'cut'; a: string; b: string; lan: number | undefined; oneway: boolean }
  | { kind: 'heal' }
  | { kind: 'delay'; host: string; delay_ms: number; lan: number | undefined }
  | { kind: 'loss'; host: string; pct: number; lan: number | undefined };

export type Parsed = { ok: true; command: LabCommand; labName: string | undefined } | { ok: false; message: string };

export const USAGE = `usage: npm run lab -- [--name LAB] <command>
  up --nodes N [--client] [--witness] [--lans K] [--packaged]
                                                   make the lab (namespaces, LANs, mount views);
                                                   --packaged: hosts get the package's /usr/lib/hakit
  status [--json]                                  hosts, LANs, addresses, cuts, delays, losses
  down                                             remove everything the lab made
  exec HOST -- CMD...                              run CMD in HOST's network and mount view
                                                   (packaged lab: the package's hakit on PATH)
  start HOST hakitd|hakit-witness                  packaged lab: start it as its systemd unit does
  kill HOST                                        power cut: HOST's links go dead, then every process dies
  poweron HOST                                     links back up after a power cut (then start daemons)
  cut A B [--lan L] [--oneway]                     drop frames A->B (and B->A unless --oneway)
  heal                                             remove every cut
  delay HOST MS [--lan L]                          delay HOST's egress by MS (0 removes)
  loss HOST PCT [--lan L]                          drop PCT % of HOST's egress (0 removes)
LAB defaults to $HAKIT_LAB, else the default lab (namespaces node1.., client, witness, sw).`;

/** Flags each command accepts: name -> takes a value. */
const FLAGS: Record<string, Record<string, boolean>> = {
  up: { '--nodes': true, '--client': false, '--witness': false, '--lans': true, '--packaged': false },
  status: { '--json': false },
  down: {},
  exec: {},
  kill: {},
  start: {},
  poweron: {},
  cut: { '--lan': true, '--oneway': false },
  heal: {},
  delay: { '--lan': true },
  loss: { '--lan': true },
  help: {},
};

/** Whole numbers only: '1e3', ' 5', '0x10' are refused. */
function parseCount(text: string | undefined, what: string, min: number, max: number): number | string {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return `${what} must be a whole number, got '${text ?? ''}'`;
  const n = Number(text);
  return n < min || n > max ? `${what} must be in ${min}..${max}, got ${n}` : n;
}

interface Split {
  labName: string | undefined;
  positional: string[];
  flags: Map<string, string>;
  rest: string[] | undefined;
  error: string | undefined;
}

function split(argv: readonly string[]): Split {
  const out: Split = { labName: undefined, positional: [], flags: new Map(), rest: undefined, error: undefined };
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i] as string;
    if (tok === '--') {
      out.rest = argv.slice(i + 1);
      break;
    }
    if (tok === '--name') {
      out.labName = argv[++i];
      if (out.labName === undefined) out.error = '--name needs a value';
      continue;
    }
    if (tok === '-h' || tok === '--help') {
      out.positional.unshift('help');
      continue;
    }
    const command = out.positional[0];
    if (tok.startsWith('--') && command !== undefined) {
      const takesValue = FLAGS[command]?.[tok];
      if (takesValue === undefined) {
        out.error = `unknown option ${tok} for '${command}'`;
        break;
      }
      const value = takesValue ? argv[++i] : 'true';
      if (value === undefined) {
        out.error = `${tok} needs a value`;
        break;
      }
      out.flags.set(tok, value);
      continue;
    }
    if (tok.startsWith('-') && !/^\d/.test(tok.slice(1))) {
      out.error = `unknown option ${tok}`;
      break;
    }
    out.positional.push(tok);
  }
  return out;
}

function optionalLan(flags: Map<string, string>): number | undefined | string {
  const text = flags.get('--lan');
  return text === undefined ? undefined : parseCount(text, '--lan', 0, 15);
}

function expectArgs(positional: string[], count: number, shape: string): string | undefined {
  return positional.length === count + 1 ? undefined : `'${positional[0]}' takes ${shape}`;
}

function build(s: Split): LabCommand | string {
  const [command, a, b] = s.positional;
  const f = s.flags;
  switch (command) {
    case undefined:
    case 'help':
      return { kind: 'help' };
    case 'up': {
      const nodes = parseCount(f.get('--nodes'), '--nodes', 1, 99);
      const lans = f.has('--lans') ? parseCount(f.get('--lans'), '--lans', 1, 16) : 1;
      if (typeof nodes === 'string') return nodes;
      if (typeof lans === 'string') return lans;
      return expectArgs(s.positional, 0, 'no arguments') ?? { kind: 'up', nodes, lans, client: f.has('--client'), witness: f.has('--witness'), packaged: f.has('--packaged') };
    }
    case 'status':
      return expectArgs(s.positional, 0, 'no arguments') ?? { kind: 'status', json: f.has('--json') };
    case 'down':
    case 'heal':
      return expectArgs(s.positional, 0, 'no arguments') ?? { kind: command };
    case 'exec':
      if (s.positional.length !== 2 || s.rest === undefined || s.rest.length === 0) return `'exec' takes HOST -- CMD...`;
      return { kind: 'exec', host: a as string, argv: s.rest };
    case 'kill':
      return expectArgs(s.positional, 1, 'HOST') ?? { kind: 'kill', host: a as string };
    case 'poweron':
      return expectArgs(s.positional, 1, 'HOST') ?? { kind: 'poweron', host: a as string };
    case 'start':
      if (b !== 'hakitd' && b !== 'hakit-witness') return `'start' takes HOST hakitd|hakit-witness`;
      return expectArgs(s.positional, 2, 'HOST hakitd|hakit-witness') ?? { kind: 'start', host: a as string, unit: b };
    case 'cut': {
      const lan = optionalLan(f);
      if (typeof lan === 'string') return lan;
      if (a !== undefined && a === b) return `cannot cut ${a} from itself`;
      return expectArgs(s.positional, 2, 'A B') ?? { kind: 'cut', a: a as string, b: b as string, lan, oneway: f.has('--oneway') };
    }
    case 'delay':
    case 'loss': {
      const lan = optionalLan(f);
      if (typeof lan === 'string') return lan;
      const shape = expectArgs(s.positional, 2, command === 'delay' ? 'HOST MS' : 'HOST PCT');
      if (shape !== undefined) return shape;
      if (command === 'delay') {
        const ms = parseCount(b, 'MS', 0, 60_000);
        return typeof ms === 'string' ? ms : { kind: 'delay', host: a as string, delay_ms: ms, lan };
      }
      const pct = parseCount(b, 'PCT', 0, 100);
      return typeof pct === 'string' ? pct : { kind: 'loss', host: a as string, pct, lan };
    }
    default:
      return `unknown command '${command}'`;
  }
}

export function parseArgs(argv: readonly string[]): Parsed {
  const s = split(argv);
  if (s.error !== undefined) return { ok: false, message: s.error };
  if (s.rest !== undefined && s.positional[0] !== 'exec') return { ok: false, message: `'--' is only for exec` };
  const command = build(s);
  return typeof command === 'string' ? { ok: false, message: command } : { ok: true, command, labName: s.labName };
}
