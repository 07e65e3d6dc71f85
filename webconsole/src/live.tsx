// The live cluster view: /cluster and /state once, then socket.io's state/node/replication
// events applied as they come (the API sends them within 1 s of the change). A reconnect
// re-reads /state, so nothing missed while disconnected stays wrong.
import { useEffect, useRef, useState } from 'preact/hooks';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../core/api/contract/events';
import type { ClusterInfo, ClusterState, ReplicationStatus } from '../../core/api/contract/pure/types';
import { EVENTS_PATH } from '../../core/api/contract/version';
import { applyNode, applyState, fromState, type ClusterView } from '../pure/cluster-view';
import { api, ApiError } from './api';

export type EventSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface Live {
  readonly info: ClusterInfo | null;
  readonly view: ClusterView | null;
  /** Latest replication status per "node/module". */
  readonly replication: ReadonlyMap<string, ReplicationStatus>;
  readonly connected: boolean;
  readonly error: string | null;
  readonly socket: EventSocket | null;
  refresh(): void;
}

/** A safety net beside the events: /state is re-read this often. */
export const STATE_REFRESH_MS = 15_000;
export const REFRESH_DEBOUNCE_MS = 300;

export function useLive(onAuthLost: () => void): Live {
  const [info, setInfo] = useState<ClusterInfo | null>(null);
  const [view, setView] = useState<ClusterView | null>(null);
  const [replication, setReplication] = useState<ReadonlyMap<string, ReplicationStatus>>(new Map());
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const socketRef = useRef<EventSocket | null>(null);
  const [, force] = useState(0);

  const refresh = (): void => {
    api<ClusterState>('GET', '/state').then(
      (s) => {
        setView((old) => fromState(s, old?.timeline ?? []));
        setError(null);
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) return onAuthLost();
        setError(e instanceof Error ? e.message : String(e));
      },
    );
  };

  useEffect(() => {
    api<ClusterInfo>('GET', '/cluster').then(setInfo, () => setInfo(null));
    refresh();
    const s: EventSocket = io({ path: EVENTS_PATH, transports: ['websocket'], withCredentials: true, reconnectionDelay: 500, reconnectionDelayMax: 3000 });
    socketRef.current = s;
    force((n) => n + 1);
    s.on('connect', () => {
      setConnected(true);
      refresh();
    });
    s.on('disconnect', () => setConnected(false));
    s.on('connect_error', (e: Error) => {
      setConnected(false);
      if (/AUTH_(REQUIRED|EXPIRED)/.test(e.message)) onAuthLost();
    });
    // A node coming back, or heartbeats to a peer lost or found again: that node's last answer
    // may be stale, so /state is read again (debounced: one cut changes many modules at once).
    let again: ReturnType<typeof setTimeout> | undefined;
    const refreshSoon = (): void => {
      if (again === undefined) again = setTimeout(() => ((again = undefined), refresh()), REFRESH_DEBOUNCE_MS);
    };
    s.on('state', (e) =>
      setView((v) => {
        if (!v) return v;
        const before = v.nodes.find((n) => n.node === e.node)?.modules.find((m) => m.module === e.module);
        const reach = (x: typeof before | null): string => (x ? x.peers.map((p) => `${p.node}:${p.reachable}`).join(',') : '');
        if (before && e.current && reach(before) !== reach(e.current)) refreshSoon();
        return applyState(v, e);
      }),
    );
    s.on('node', (e) => {
      if (e.reachable) refreshSoon();
      setView((v) => (v ? applyNode(v, e) : v));
    });
    s.on('replication', (e) =>
      setReplication((old) => {
        const next = new Map(old);
        next.set(`${e.status.node}/${e.status.module}`, e.status);
        return next;
      }),
    );
    const t = setInterval(refresh, STATE_REFRESH_MS);
    return () => {
      clearInterval(t);
      if (again !== undefined) clearTimeout(again);
      s.close();
      socketRef.current = null;
    };
  }, []);

  return { info, view, replication, connected, error, socket: socketRef.current, refresh };
}
