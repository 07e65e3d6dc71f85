// The console: login, then the live grid, the banners, the module detail, the timeline.
import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo } from '../../core/api/contract/pure/types';
import { gridOf, ownNodeIsolated } from '../pure/cluster-view';
import { runAction, type ActionProgress } from './actions';
import { currentSession, logout } from './api';
import { ConfigView } from './config';
import { Detail } from './detail';
import { ClusterGrid, type Selected } from './grid';
import { useLive } from './live';
import { Login } from './login';
import { Timeline } from './timeline';
import { ClusterHistory } from './cluster-timeline';
import { NotifyToggle } from './notify';
import { WhatIf } from './whatif';

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  useEffect(() => {
    currentSession().then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) return <Login onLogin={setSession} />;
  return <Console session={session} onLogout={() => setSession(null)} />;
}

function Console(props: { session: SessionInfo; onLogout: () => void }) {
  const live = useLive(props.onLogout);
  const [progress, setProgress] = useState<ReadonlyMap<string, ActionProgress>>(new Map());
  const [selected, setSelected] = useState<Selected | null>(null);
  const role = props.session.role;
  const clusterNodes = live.info?.nodes.map((n) => n.name) ?? live.view?.nodes.map((n) => n.node) ?? [];
  const view = live.view;
  const grid = view ? gridOf(view, clusterNodes) : null;
  const isolated = view ? ownNodeIsolated(view, clusterNodes) : false;
  const selM = selected && view ? (view.nodes.find((n) => n.node === selected.node)?.modules.find((m) => m.module === selected.module) ?? null) : null;

  return (
    <>
      <header class="top">
        <h1>
          hakit <span class="sub">{live.info ? `cluster ${live.info.cluster}` : ''}</span>
        </h1>
        <p class="who">
          {view && <>via node {view.answered_by} · </>}
          {props.session.user} ({role}) ·{' '}
          <span class={live.connected ? 'live-on' : 'live-off'}>{live.connected ? '● live' : '○ not live'}</span>{' '}
          <NotifyToggle entries={view?.timeline ?? []} />{' '}
          <button type="button" onClick={() => void logout().finally(props.onLogout)}>
            Log out
          </button>
        </p>
      </header>
      <main id="main">
        {isolated && view && (
          <div class="banner danger" role="alert">
            ✖ Node {view.answered_by} has lost contact with every other node. This view shows only what {view.answered_by} sees; the others may be running the modules on their own.
          </div>
        )}
        {!live.connected && view && (
          <div class="banner warn" role="status">
            ⟳ Live updates from {view.answered_by} are interrupted; reconnecting. The grid may be out of date.
          </div>
        )}
        {live.error && (
          <div class="banner warn" role="status">
            ⚠ {live.error}
          </div>
        )}
        <h2 class="sr-only">Modules</h2>
        {grid ? (
          <ClusterGrid
            grid={grid}
            role={role}
            replication={live.replication}
            progress={progress}
            onSelect={setSelected}
            onRun={(node, module, a) => {
              const key = `${node}/${module}`;
              void runAction(a, (p) => {
                setProgress((old) => new Map(old).set(key, p));
                if (p.phase !== 'running') live.refresh();
              });
            }}
          />
        ) : (
          <p>Loading the cluster state…</p>
        )}
        {selected && selM && <Detail node={selected.node} m={selM} role={role} socket={live.socket} replication={live.replication.get(`${selected.node}/${selected.module}`)} onClose={() => setSelected(null)} />}
        {view && <Timeline entries={view.timeline} onOpen={(node, module) => setSelected({ node, module })} />}
        <ClusterHistory newest={view?.timeline.at(-1)} onOpen={(node, module) => setSelected({ node, module })} />
        <WhatIf />
        {role === 'admin' && <ConfigView nodes={clusterNodes} modules={[...new Set(view?.nodes.flatMap((n) => n.modules.map((m) => m.module)) ?? [])].sort()} />}
      </main>
    </>
  );
}
