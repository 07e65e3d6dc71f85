// `hakit nagios`: the Nagios plugin verdict from the daemon's state (pure). One status line,
// performance data after `|`, exit 0 OK / 1 WARNING / 2 CRITICAL / 3 UNKNOWN.
//   mirror: OK when one node is PRIM and the other SECOND, both settled; WARNING when ALONE,
//           re-integrating, WAIT, a resource down or a peer unreachable; CRITICAL when no node
//           serves (none ALONE or PRIM).
//   farm:   OK when every node is UP; WARNING when some are not; CRITICAL when none is.

export const NAGIOS_OK = 0;
export const NAGIOS_WARNING = 1;
export const NAGIOS_CRITICAL = 2;
export const NAGIOS_UNKNOWN = 3;
export type NagiosCode = 0 | 1 | 2 | 3;
const LABEL = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/** What nagios needs of one module (a subset of the control API's ModuleStatus). */
export interface NagiosModule {
  readonly module: string;
  readonly mode: 'mirror' | 'farm' | 'light';
  readonly state: string;
  readonly status: string;
  readonly peers: readonly { readonly node: string; readonly reachable: boolean; readonly state: string | null; readonly status: string | null }[];
  /** Resources down (from `resources`); empty when unknown. */
  readonly resources_down?: readonly string[];
}

export interface NagiosVerdict {
  readonly code: NagiosCode;
  readonly line: string;
}

interface NodeState {
  readonly node: string;
  readonly state: string;
  readonly status: string;
}

function nodesOf(node: string, m: NagiosModule): NodeState[] {
  const peers = m.peers.map((p) => ({ node: p.node, state: p.reachable ? (p.state ?? 'STOP') : 'UNREACHABLE', status: p.status ?? '' }));
  return [{ node, state: m.state, status: m.status }, ...peers];
}

const settled = (n: NodeState): boolean => n.status !== 'Transient';

export function judgeModule(node: string, m: NagiosModule): { code: NagiosCode; why: string; served: number; total: number } {
  const nodes = nodesOf(node, m);
  const total = nodes.length;
  const down = m.resources_down ?? [];
  if (m.mode !== 'mirror') {
    // farm and light modules: STOP|WAIT|UP on each of their nodes (a light module has one).
    const up = nodes.filter((n) => n.state === 'UP' && settled(n)).length;
    if (up === 0) return { code: NAGIOS_CRITICAL, why: 'no node UP', served: 0, total };
    if (up < total) return { code: NAGIOS_WARNING, why: `${up}/${total} nodes UP`, served: up, total };
    if (down.length > 0) return { code: NAGIOS_WARNING, why: `resources down: ${down.join(',')}`, served: up, total };
    return { code: NAGIOS_OK, why: `${up}/${total} nodes UP`, served: up, total };
  }
  const serving = nodes.filter((n) => n.state === 'PRIM' || n.state === 'ALONE');
  if (serving.length === 0) return { code: NAGIOS_CRITICAL, why: 'not served on any node', served: 0, total };
  if (serving.length > 1) return { code: NAGIOS_CRITICAL, why: `served on ${serving.map((n) => n.node).join(' and ')} at once`, served: serving.length, total };
  const prim = serving[0] as NodeState;
  const second = nodes.find((n) => n.state === 'SECOND');
  if (prim.state === 'ALONE') return { code: NAGIOS_WARNING, why: `ALONE on ${prim.node}`, served: 1, total };
  if (!second || !settled(second) || !settled(prim)) return { code: NAGIOS_WARNING, why: `PRIM on ${prim.node}, re-integrating`, served: 1, total };
  if (down.length > 0) return { code: NAGIOS_WARNING, why: `PRIM on ${prim.node}, resources down: ${down.join(',')}`, served: 1, total };
  return { code: NAGIOS_OK, why: `PRIM on ${prim.node}, SECOND on ${second.node}`, served: 1, total };
}

/** Perfdata labels may not hold quotes or `=`; module names never do, but stay safe. */
function label(s: string): string {
  return `'${s.replace(/['=]/g, '_')}`;
}

export function nagiosVerdict(node: string, modules: readonly NagiosModule[]): NagiosVerdict {
  if (modules.length === 0) return { code: NAGIOS_UNKNOWN, line: `HAKIT UNKNOWN - no module installed on ${node}` };
  let code: NagiosCode = NAGIOS_OK;
  const parts: string[] = [];
  const perf: string[] = [];
  for (const m of modules) {
    const j = judgeModule(node, m);
    // CRITICAL > WARNING > OK; UNKNOWN only when the daemon does not answer.
    if (j.code > code) code = j.code;
    parts.push(`${m.module} ${LABEL[j.code]}: ${j.why}`);
    perf.push(`${label(m.module)}_serving'=${j.served};;;0;${j.total}`, `${label(m.module)}_resources_down'=${(m.resources_down ?? []).length};;;0`);
  }
  return { code, line: `HAKIT ${LABEL[code]} - ${parts.join('; ')} | ${perf.join(' ')}` };
}

export function nagiosUnreachable(message: string): NagiosVerdict {
  return { code: NAGIOS_UNKNOWN, line: `HAKIT UNKNOWN - hakitd unreachable: ${message.replace(/\|/g, '/')}` };
}
