// How one module on one node looks in the grid: SafeKit's colours, plus an icon and words so
// colour is never the only signal. Pure: the view only renders what this returns.
import type { ModuleOnNode, PeerView } from '../../core/api/contract/pure/types';

/** red: stopped, waiting NotReady or unreachable; orange: in transition or re-integrating; magenta: ALONE; green: ready. */
export type CellColour = 'red' | 'orange' | 'magenta' | 'green' | 'grey';

export interface CellLook {
  readonly colour: CellColour;
  /** A text symbol shown beside the state (screen readers get `label`). */
  readonly icon: string;
  /** The state in words, e.g. "PRIM (Ready)". */
  readonly label: string;
  /** Short detail lines under the state: copy, resync, farm share. */
  readonly details: readonly string[];
}

const ICON: Readonly<Record<CellColour, string>> = { red: '✖', orange: '⟳', magenta: '◐', green: '✔', grey: '?' };

/** The module's state on a node, as the grid shows it. `reachable`: the API could ask that node. */
export function cellLook(m: ModuleOnNode | null, reachable: boolean, via: PeerView | null = null, heartbeat_lost = false): CellLook {
  if (m && (!reachable || heartbeat_lost)) {
    // The node's last answer is stale: it is down (power cut, crash) or cut off from the others.
    const why = !reachable ? 'API not answering' : 'heartbeats lost';
    return { colour: 'red', icon: ICON.red, label: 'unreachable', details: [why, `last known ${m.state} (${m.status})`] };
  }
  if (!m) {
    if (via && via.reachable && via.state) {
      // The node's API did not answer but its heartbeats did: show what its peers see.
      const look = colourOf(via.state, via.status ?? 'NotReady', true);
      return { colour: look, icon: ICON[look], label: `${via.state} (${via.status ?? '?'})`, details: ['seen by heartbeat only'] };
    }
    if (!reachable) return { colour: 'red', icon: ICON.red, label: 'unreachable', details: [] };
    return { colour: 'grey', icon: ICON.grey, label: 'not installed', details: [] };
  }
  const colour = colourOf(m.state, m.status, m.copy_complete);
  const details: string[] = [];
  if (m.mode === 'mirror' && (m.state === 'SECOND' || m.state === 'PRIM' || m.state === 'ALONE')) {
    details.push(m.copy_complete ? 'copy up to date' : 'copy NOT up to date');
  }
  if (m.farm) details.push(`share ${m.farm.share}`);
  if (m.last_error) details.push(`error ${m.last_error.code}`);
  return { colour, icon: ICON[colour], label: `${m.state} (${m.status})`, details };
}

export function colourOf(state: string, status: string, copy_complete: boolean): CellColour {
  if (state === 'STOP') return 'red';
  if (state === 'WAIT') return status === 'NotReady' ? 'red' : 'orange';
  if (status === 'Transient') return 'orange';
  if (state === 'ALONE') return status === 'Ready' ? 'magenta' : 'orange';
  if (state === 'PRIM' || state === 'SECOND' || state === 'UP') {
    if (status !== 'Ready') return status === 'NotReady' ? 'red' : 'orange';
    // A SECOND still re-integrating its copy is a transition, not yet green.
    return state === 'SECOND' && !copy_complete ? 'orange' : 'green';
  }
  return 'grey';
}

/** The 256 buckets laid out by the member table's counts, in member order (the API gives counts, not each bucket's owner). */
export function bucketOwners(counts: Readonly<Record<string, number>>, members: readonly string[], total = 256): (string | null)[] {
  const out: (string | null)[] = [];
  const order = [...members, ...Object.keys(counts).filter((k) => !members.includes(k))];
  for (const m of order) {
    const n = Math.max(0, Math.floor(counts[m] ?? 0));
    for (let i = 0; i < n && out.length < total; i++) out.push(m);
  }
  while (out.length < total) out.push(null);
  return out;
}

/** One of a module's switches as the grid and the detail show it: an icon and words, never colour alone. */
export interface SwitchFlag {
  readonly key: 'failover' | 'checkers' | 'boot';
  readonly on: boolean;
  /** "●" on, "○" off (screen readers get `text`). */
  readonly icon: string;
  /** E.g. "failover on", "checkers off". */
  readonly text: string;
}

/** Failover, checkers and boot of a module on a node; checkers only when the node reported them (a module without a monitor has none). */
export function switchFlags(m: ModuleOnNode): SwitchFlag[] {
  const flag = (key: SwitchFlag['key'], on: boolean): SwitchFlag => ({ key, on, icon: on ? '●' : '○', text: `${key} ${on ? 'on' : 'off'}` });
  const out = [flag('failover', m.failover)];
  if (m.checkers !== undefined) out.push(flag('checkers', m.checkers));
  out.push(flag('boot', m.boot));
  return out;
}
