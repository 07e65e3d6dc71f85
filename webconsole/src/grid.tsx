// The monitoring grid: modules × nodes, each cell coloured like SafeKit's console, with an
// icon and the state in words, the detail lines under it and the role's actions.
import type { Role } from '../../core/api/contract/pure/roles';
import type { ModuleOnNode, ReplicationStatus } from '../../core/api/contract/pure/types';
import { cellLook, switchFlags } from '../pure/cell';
import { replicationGridLine } from '../pure/replication';
import type { Grid } from '../pure/cluster-view';
import { ActionMenu, type ActionProgress, type ActionSpec } from './actions';
import { ApprovalPanel } from './approval';

export interface Selected {
  readonly module: string;
  readonly node: string;
}

/** The module's switches (failover, checkers, boot), each with an icon and its state in words. */
export function SwitchList(props: { m: ModuleOnNode }) {
  return (
    <ul class="switches" aria-label="Switches">
      {switchFlags(props.m).map((f) => (
        <li key={f.key} class={`switch ${f.on ? 'on' : 'off'}`} data-switch={f.key} data-on={String(f.on)}>
          <span aria-hidden="true">{f.icon}</span> {f.text}
        </li>
      ))}
    </ul>
  );
}

export function ClusterGrid(props: {
  grid: Grid;
  role: Role;
  replication: ReadonlyMap<string, ReplicationStatus>;
  progress: ReadonlyMap<string, ActionProgress>;
  onRun: (node: string, module: string, a: ActionSpec) => void;
  onSelect: (s: Selected) => void;
}) {
  const g = props.grid;
  if (g.modules.length === 0) return <p class="empty">No module is installed on any node that answered.</p>;
  return (
    <div class="grid-wrap">
      <table class="grid" aria-label="Modules by node">
        <caption>Modules (rows) on each node (columns)</caption>
        <thead>
          <tr>
            <th scope="col">Module</th>
            {g.nodes.map((n) => (
              <th scope="col" key={n}>
                {n}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {g.modules.map((mod) => (
            <tr key={mod}>
              <th scope="row">{mod}</th>
              {g.nodes.map((node) => {
                const c = g.cell(mod, node);
                const look = cellLook(c.m, c.reachable, c.via, c.heartbeat_lost);
                const r = props.replication.get(`${node}/${mod}`);
                const line = r ? replicationGridLine(r) : null;
                const extra = line === null ? [] : [line];
                return (
                  <td key={node} class={`cell c-${look.colour}`} data-node={node} data-module={mod} data-colour={look.colour}>
                    <div class="state">
                      <span class="icon" aria-hidden="true">
                        {look.icon}
                      </span>{' '}
                      <span class="label">{look.label}</span>
                    </div>
                    <ul class="details">
                      {[...look.details, ...extra].map((d) => (
                        <li key={d}>{d}</li>
                      ))}
                    </ul>
                    {c.m && c.reachable && !c.heartbeat_lost && <SwitchList m={c.m} />}
                    {c.m && (
                      <button type="button" class="link" onClick={() => props.onSelect({ module: mod, node })} aria-label={`Details of ${mod} on ${node}`}>
                        Details
                      </button>
                    )}
                    {c.m && <ApprovalPanel node={node} module={c.m} role={props.role} progress={props.progress.get(`${node}/${mod}`)} onRun={(a) => props.onRun(node, mod, a)} />}
                    {c.m && <ActionMenu node={node} module={c.m} role={props.role} progress={props.progress.get(`${node}/${mod}`)} onRun={(a) => props.onRun(node, mod, a)} />}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <p class="legend" aria-label="Legend">
        <span class="c-green">✔ ready (PRIM, SECOND, UP)</span> <span class="c-magenta">◐ ALONE</span> <span class="c-orange">⟳ transition or re-integration</span> <span class="c-red">✖ STOP, WAIT NotReady or unreachable</span>
      </p>
    </div>
  );
}
