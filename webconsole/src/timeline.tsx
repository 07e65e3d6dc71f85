// The cluster-wide timeline of state changes seen since the console opened (every node's
// events arrive through this node), newest first, each with a link into that module's log.
import type { TimelineEntry } from '../pure/cluster-view';

export function Timeline(props: { entries: readonly TimelineEntry[]; onOpen: (node: string, module: string) => void }) {
  const shown = [...props.entries].reverse().slice(0, 100);
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      {shown.length === 0 ? (
        <p class="empty">No state change since this page opened.</p>
      ) : (
        <ol class="timeline">
          {shown.map((e, i) => (
            <li key={`${e.at}-${i}`}>
              <time>{new Date(e.at).toLocaleTimeString()}</time> {e.node} · {e.module}: {e.from} → <strong>{e.to}</strong>{' '}
              <button type="button" class="link" onClick={() => props.onOpen(e.node, e.module)}>
                log
              </button>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
