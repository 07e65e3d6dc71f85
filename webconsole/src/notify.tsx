// Browser notifications on state changes: optional, off until the user turns them on (the
// choice is kept in this browser only). Each new timeline entry becomes one notification.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { TimelineEntry } from '../pure/cluster-view';
import { entryKey, newSince, notificationText } from '../pure/insight';

const STORAGE_KEY = 'hakit.notify';
/** A burst (a whole cluster failing over) is summed up instead of flooding the desktop. */
const MAX_NOTIFICATIONS_PER_BURST = 3;

function supported(): boolean {
  return typeof Notification !== 'undefined';
}

function stored(): boolean {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'on';
  } catch {
    return false;
  }
}

export function NotifyToggle(props: { entries: readonly TimelineEntry[] }) {
  const [on, setOn] = useState(() => supported() && stored() && Notification.permission === 'granted');
  const [note, setNote] = useState<string | null>(null);
  const lastSeen = useRef<string | null>(null);
  useEffect(() => {
    const fresh = newSince(props.entries, lastSeen.current);
    const last = props.entries[props.entries.length - 1];
    lastSeen.current = last ? entryKey(last) : '';
    if (!on || !supported() || Notification.permission !== 'granted' || fresh.length === 0) return;
    for (const e of fresh.slice(0, MAX_NOTIFICATIONS_PER_BURST)) {
      const t = notificationText(e);
      new Notification(t.title, { body: t.body, tag: `${e.node}/${e.module}` });
    }
    if (fresh.length > MAX_NOTIFICATIONS_PER_BURST) new Notification('hakit', { body: `${fresh.length - MAX_NOTIFICATIONS_PER_BURST} more state changes` });
  }, [props.entries, on]);

  const change = (want: boolean): void => {
    if (!want) {
      setOn(false);
      setNote(null);
      try {
        localStorage.setItem(STORAGE_KEY, 'off');
      } catch {
        // private mode: the choice lasts this page only
      }
      return;
    }
    if (!supported()) {
      setNote('this browser has no notifications');
      return;
    }
    void Notification.requestPermission().then((p) => {
      const granted = p === 'granted';
      setOn(granted);
      setNote(granted ? null : 'the browser refused notifications for this page');
      try {
        localStorage.setItem(STORAGE_KEY, granted ? 'on' : 'off');
      } catch {
        // private mode
      }
    });
  };

  return (
    <span class="notify">
      <label>
        <input type="checkbox" checked={on} onChange={(e) => change((e.currentTarget as HTMLInputElement).checked)} /> Notify me of state changes
      </label>
      {note && <span class="note"> ({note})</span>}
    </span>
  );
}
