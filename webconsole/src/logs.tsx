// A module's live log on one node: the last lines from the API, then the socket's log events
// (subscribed while this is shown), filtered by minimum level; script output and codes shown.
import { useEffect, useState } from 'preact/hooks';
import type { LogEvent } from '../../core/api/contract/events';
import type { LogLevel, LogLine, LogPage } from '../../core/api/contract/pure/types';
import { api, enc } from './api';
import type { EventSocket } from './live';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
export const LOG_LINES_KEPT = 1000;

function fieldsText(f: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(f);
  if (keys.length === 0) return '';
  return keys.map((k) => `${k}=${typeof f[k] === 'string' ? (f[k] as string) : JSON.stringify(f[k])}`).join(' ');
}

export function LogView(props: { node: string; module: string; socket: EventSocket | null }) {
  const [lines, setLines] = useState<readonly LogLine[]>([]);
  const [min, setMin] = useState<LogLevel>('info');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<LogPage>('GET', `/nodes/${enc(props.node)}/modules/${enc(props.module)}/logs?lines=300`).then(
      (p) => setLines(p.lines),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
    const s = props.socket;
    if (!s) return;
    const onLog = (e: LogEvent): void => {
      if (e.line.node !== props.node || e.line.module !== props.module) return;
      setLines((old) => [...old, e.line].slice(-LOG_LINES_KEPT));
    };
    s.on('log', onLog);
    s.emit('logs:subscribe', { node: props.node, module: props.module });
    return () => {
      s.off('log', onLog);
      s.emit('logs:unsubscribe');
    };
  }, [props.node, props.module, props.socket]);

  const shown = lines.filter((l) => LEVELS.indexOf(l.level) >= LEVELS.indexOf(min));
  return (
    <section aria-label="Log">
      <label for="log-level">Minimum level </label>
      <select id="log-level" value={min} onChange={(e) => setMin((e.target as HTMLSelectElement).value as LogLevel)}>
        {LEVELS.map((l) => (
          <option key={l} value={l}>
            {l}
          </option>
        ))}
      </select>
      {error && <p class="error">✖ {error}</p>}
      <ol class="log" aria-live="off">
        {shown.map((l, i) => (
          <li key={i} class={`lvl-${l.level}`}>
            <time>{l.time}</time> <span class="lvl">{l.level.toUpperCase()}</span> {l.msg} <span class="fields">{fieldsText(l.fields)}</span>
          </li>
        ))}
      </ol>
      {shown.length === 0 && <p class="empty">No line at this level yet.</p>}
    </section>
  );
}
