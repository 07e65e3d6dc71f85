// The cluster's history of state changes, read from every node's module logs (GET
// /transitions: all nodes merged by time), newest first, each with a link into that
// module's log on that node. It reloads when a live state change arrives, and every 10 s.
import { useEffect, useState } from 'preact/hooks';
import type { TransitionPage } from '../../core/api/contract/pure/insight-types';
import { api } from './api';

const HISTORY_REFRESH_MS = 10_000;
const HISTORY_SHOWN = 200;

export function ClusterHistory(props: { changes: number; onOpen: (node: string, module: string) => void }) {
  const [page, setPage] = useState<TransitionPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = (): void => {
      api<TransitionPage>('GET', '/transitions').then(
        (p) => {
          if (!live) return;
          setPage(p);
          setError(null);
        },
        (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
      );
    };
    load();
    const t = setInterval(load, HISTORY_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [props.changes]);
  const shown = page ? [...page.events].reverse().slice(0, HISTORY_SHOWN) : [];
  return (
    <section id="history" aria-labelledby="history-title">
      <h2 id="history-title">Cluster history</h2>
      <p class="note">State changes of every module on every node, from the nodes' logs, newest first.</p>
      {error && <p class="error">✖ {error}</p>}
      {page && page.missing.length > 0 && <p class="banner warn">⚠ Not read from {page.missing.map((m) => `${m.node} (${m.code})`).join(', ')}: their changes are missing here.</p>}
      {page && shown.length === 0 && <p class="empty">No state change in the logs.</p>}
      {shown.length > 0 && (
        <table class="plain history-table">
          <caption class="sr-only">State changes, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Node</th>
              <th scope="col">Module</th>
              <th scope="col">Change</th>
              <th scope="col">Why</th>
              <th scope="col">Log</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e, i) => (
              <tr key={`${e.time}-${e.node}-${i}`}>
                <td>
                  <time dateTime={e.time}>{new Date(e.time).toLocaleString()}</time>
                </td>
                <td>{e.node}</td>
                <td>{e.module}</td>
                <td>
                  {e.from} → <strong>{e.to}</strong>
                </td>
                <td>{e.why}</td>
                <td>
                  <button type="button" class="link" aria-label={`log of ${e.module} on ${e.node}`} onClick={() => props.onOpen(e.node, e.module)}>
                    log
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
