// One module on one node in detail: live log, resources and their history with the failover
// rule applied last, replication status, the farm's bucket map (bucket-map.tsx) and shares. Tabs follow the
// WAI-ARIA tabs pattern (arrow keys move between them).
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { routeById } from '../../core/api/contract/routes';
import { roleAllows, type Role } from '../../core/api/contract/pure/roles';
import type { ModuleOnNode, ModuleResources, ReplicationStatus, VerifyRecordInfo } from '../../core/api/contract/pure/types';
import { api, enc } from './api';
import type { EventSocket } from './live';
import { LogView } from './logs';
import { BucketMapView } from './bucket-map';
import { SwitchList } from './grid';
import { bytesText as bytes, replicationRows } from '../pure/replication';

type Tab = 'log' | 'resources' | 'replication' | 'farm';

export function Detail(props: { node: string; m: ModuleOnNode; role: Role; socket: EventSocket | null; replication: ReplicationStatus | undefined; onClose: () => void }) {
  const tabs: Tab[] = ['log', 'resources', ...(props.m.mode === 'mirror' ? (['replication'] as Tab[]) : []), ...(props.m.farm ? (['farm'] as Tab[]) : [])];
  const [tab, setTab] = useState<Tab>('log');
  const names: Record<Tab, string> = { log: 'Log', resources: 'Resources', replication: 'Replication', farm: 'Farm buckets' };
  const onKey = (e: KeyboardEvent): void => {
    const i = tabs.indexOf(tab);
    const next = e.key === 'ArrowRight' ? tabs[(i + 1) % tabs.length] : e.key === 'ArrowLeft' ? tabs[(i + tabs.length - 1) % tabs.length] : undefined;
    if (next) {
      setTab(next);
      (document.getElementById(`tab-${next}`) as HTMLElement | null)?.focus();
    }
  };
  return (
    <section class="detail" aria-labelledby="detail-title">
      <div class="row">
        <h2 id="detail-title">
          {props.m.module} on {props.node}
        </h2>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
      <SwitchList m={props.m} />
      <div role="tablist" aria-label="Module detail" onKeyDown={onKey}>
        {tabs.map((t) => (
          <button key={t} type="button" role="tab" id={`tab-${t}`} aria-selected={tab === t} aria-controls={tab === t ? `panel-${t}` : undefined} tabIndex={tab === t ? 0 : -1} onClick={() => setTab(t)}>
            {names[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'log' && <LogView node={props.node} module={props.m.module} socket={props.socket} />}
        {tab === 'resources' && <ResourcesView node={props.node} module={props.m.module} />}
        {tab === 'replication' && <ReplicationView node={props.node} module={props.m.module} role={props.role} live={props.replication} />}
        {tab === 'farm' && <BucketMapView m={props.m} />}
      </div>
    </section>
  );
}

function ResourcesView(props: { node: string; module: string }) {
  const [r, setR] = useState<ModuleResources | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = (): void => {
      api<ModuleResources>('GET', `/nodes/${enc(props.node)}/modules/${enc(props.module)}/resources`).then(setR, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    };
    load();
    const t = setInterval(load, 5_000);
    return () => clearInterval(t);
  }, [props.node, props.module]);
  if (error) return <p class="error">✖ {error}</p>;
  if (!r) return <p>Loading…</p>;
  return (
    <div>
      <p>
        errd {r.errd ? 'on' : 'off'} · checkers {r.checkers ? 'on' : 'off'}
        {r.held.length > 0 && ` · held: ${r.held.join(', ')}`}
      </p>
      <p>Failover rule applied last: {r.last_rule ? `${r.last_rule.rule} (${r.last_rule.resource} → ${r.last_rule.action}, ${Math.round(r.last_rule.ms_ago / 1000)} s ago)` : 'none'}</p>
      <table class="plain">
        <caption>Resources</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Class</th>
            <th scope="col">State</th>
            <th scope="col">Since</th>
            <th scope="col">Source</th>
            <th scope="col">Rule / action</th>
          </tr>
        </thead>
        <tbody>
          {r.resources.map((x) => (
            <tr key={x.name}>
              <td>{x.name}</td>
              <td>{x.class}</td>
              <td class={`res-${x.state}`}>
                {x.state === 'up' ? '✔' : x.state === 'down' ? '✖' : '…'} {x.state}
              </td>
              <td>{Math.round(x.since_ms_ago / 1000)} s</td>
              <td>{x.source}</td>
              <td>
                {x.rule ?? '-'} / {x.action}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>History</h3>
      {r.history.length === 0 ? (
        <p class="empty">No change since the API started.</p>
      ) : (
        <ol class="history">
          {[...r.history].reverse().map((h, i) => (
            <li key={i}>
              <time>{h.at}</time> {h.resource}: {h.from ?? '-'} → {h.to}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function ReplicationView(props: { node: string; module: string; role: Role; live: ReplicationStatus | undefined }) {
  const [r, setR] = useState<ReplicationStatus | null>(null);
  const [verify, setVerify] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = (): void => {
    api<ReplicationStatus>('GET', `/nodes/${enc(props.node)}/modules/${enc(props.module)}/replication`).then(setR, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  useEffect(load, [props.node, props.module]);
  const s = props.live ?? r;
  const lastVerify = newestVerify(r?.last_verify, props.live?.last_verify);
  const verifyKnown = r?.last_verify !== undefined || props.live?.last_verify !== undefined;
  const route = routeById('verify');
  const canVerify = route !== undefined && roleAllows(props.role, route.access);
  return (
    <div>
      {error && <p class="error">✖ {error}</p>}
      {s && (
        <dl class="kv">
          <dt>Engine</dt>
          <dd>{s.engine === 'prim' ? 'sender (PRIM side)' : s.engine === 'second' ? 'receiver (SECOND side)' : 'none'}</dd>
          {replicationRows(s).map((row) => (
            <Fragment key={row.label}>
              <dt>{row.label}</dt>
              <dd class={row.bad ? 'error' : undefined} data-row={row.label.toLowerCase()}>
                {row.value}
              </dd>
            </Fragment>
          ))}
          {typeof s.fence_wait_ms === 'number' && (
            <>
              <dt>Sync calls</dt>
              <dd class="error">⏳ held {Math.round(s.fence_wait_ms / 1000)} s: the peer may still believe its copy complete (the ALONE fence)</dd>
            </>
          )}
          {typeof s.journal_emptied_ms === 'number' && (
            <>
              <dt>Journal</dt>
              <dd class="error journal-emptied">⚠ emptied {Math.round(s.journal_emptied_ms / 1000)} s ago: its disk refused a record, so a crash of this node costs a full comparison until it is written again</dd>
            </>
          )}
          {verifyKnown && (
            <>
              <dt>Last verify</dt>
              <dd class="last-verify">{lastVerify ? <VerifySummary v={lastVerify} /> : `none run on ${props.node} yet`}</dd>
            </>
          )}
        </dl>
      )}
      {canVerify && (
        <button
          type="button"
          onClick={() => {
            setVerify('⏳ comparing both copies…');
            api<{ differences?: unknown[] }>('POST', `/nodes/${enc(props.node)}/modules/${enc(props.module)}/replication/verify`, {}).then(
              (v) => {
                setVerify(`✔ verify done: ${v.differences?.length ?? 0} difference(s)`);
                load();
              },
              (e: unknown) => {
                setVerify(`✖ verify failed: ${e instanceof Error ? e.message : String(e)}`);
                load();
              },
            );
          }}
        >
          Verify copies now
        </button>
      )}
      {verify && <p role="status">{verify}</p>}
    </div>
  );
}

/** The later of two records of the same node's last verify (the route's answer and the live event's). */
function newestVerify(a: VerifyRecordInfo | null | undefined, b: VerifyRecordInfo | null | undefined): VerifyRecordInfo | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return Date.parse(b.at) > Date.parse(a.at) ? b : a;
}

/** One verify in words, icon and text: outcome, when, what it compared, how long, the first differing paths. */
function VerifySummary(props: { v: VerifyRecordInfo }) {
  const v = props.v;
  const outcome = v.outcome === 'identical' ? '✔ copies identical' : v.outcome === 'different' ? `✖ ${v.differences ?? '?'} difference${v.differences === 1 ? '' : 's'}` : `⚠ failed: ${v.error?.code ?? ''} ${v.error?.message ?? ''}`;
  return (
    <div data-outcome={v.outcome}>
      <span class={`verify-${v.outcome}`}>{outcome}</span>
      {' · '}
      <time dateTime={v.at} title={v.at}>
        {new Date(v.at).toLocaleString()}
      </time>
      {v.files_compared !== null && ` · ${v.files_compared} files (${bytes(v.bytes_compared)}) compared`}
      {` · took ${v.duration_ms < 1000 ? `${v.duration_ms} ms` : `${(v.duration_ms / 1000).toFixed(1)} s`}`}
      {v.first_differences.length > 0 && (
        <ul class="verify-diffs" aria-label="Paths that differ">
          {v.first_differences.map((d) => (
            <li key={d.path}>
              <code>{d.path}</code> ({d.reason.replace(/_/g, ' ')})
            </li>
          ))}
          {v.differences !== null && v.differences > v.first_differences.length && <li>… and {v.differences - v.first_differences.length} more (hakit rfsdiff lists them all)</li>}
        </ul>
      )}
    </div>
  );
}
