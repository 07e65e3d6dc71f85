// The cluster's history of state changes, read from every node's module logs (GET
// /transitions: all nodes merged by time), newest first, each with a link into that
// module's log on that node. It reloads when a live state change arrives, once more a moment
// later, and every 10 s.
import { useEffect, useState } from 'preact/hooks';
import type { TransitionPage } from '../../core/api/contract/pure/insight-types';
import type { TimelineEntry } from '../pure/cluster-view';
import { api } from './api';

const HISTORY_REFRESH_MS = 10_000;
/** A node's state can be read before it has written the change's log line (the line follows
 *  the effects before it, e.g. a Persist's fsync): one more load this long after a change
 *  shows it without waiting for the 10 s refresh. */
const HISTORY_SETTLE_MS = 1_500;
const HISTORY_SHOWN = 200;

/** `newest`: the live timeline's newest entry; each change is a new entry, also once the
 *  bounded timeline is full (its length then no longer changes). */
export function ClusterHistory(props: { newest: TimelineEntry | undefined; onOpen: (node: string, module: string) => void }) {
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
    const settle = setTimeout(load, HISTORY_SETTLE_MS);
    const t = setInterval(load, HISTORY_REFRESH_MS);
    return () => {
      live = false;
      clearTimeout(settle);
      clearInterval(t);
    };
  }, [props.newest]);
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
