// Issue 15 item 1 (reporting side): a PRIM whose replication link is dead must be ALONE in
// `hakit state`, `nagios` and `collect` at once, not PRIM/SECOND (Ready). The real
// MirrorReplication over a fake engine that reports link status, and the real control handler.
import { EventEmitter } from 'node:events';
import { makeControlHandler, type ControlTarget } from '../../../core/daemon/control-handlers';
import { MirrorReplication, type MirrorEngine } from '../../../core/module/runner/replication-mirror';
import type { MirrorPrim, MirrorSecond, MirrorStatus } from '../../../core/mirror/engine';
import type { ModuleStatus, StateResult } from '../../../core/control/api';
import { nagiosVerdict } from '../../../core/monitor/pure/nagios';
import { collectorView } from '../../../core/monitor/pure/format';
import { RecordingLog, SILENT_LOG } from '../../../core/log/sink';

class FakeEnd extends EventEmitter<{ status: [MirrorStatus] }> {
  complete = true;
  receiver = { bytesApplied: 0, opsApplied: 0 };
  async stop(): Promise<void> {}
}

function setup(role: 'sender' | 'receiver', machineState: 'PRIM' | 'SECOND', log = SILENT_LOG) {
  const end = new FakeEnd();
  const engine: MirrorEngine = {
    startPrim: async () => end as unknown as MirrorPrim,
    startSecond: async () => end as unknown as MirrorSecond,
  };
  const repl = new MirrorReplication({ spec: { module: 'web', dirs: ['/srv/web'], work_dir: '/tmp/x', key: Buffer.alloc(32), async: 'second' }, peer: { host: '198.18.0.2', port: 1 }, listen: { host: '198.18.0.1', port: 1 }, engine, log, settled: async () => undefined });
  const status: ModuleStatus = {
    module: 'web', mode: 'mirror', state: machineState, status: 'Ready', epoch: 3, copyComplete: true, failover: true, boot: false, last_error: null,
    peers: [{ node: 'node2', reachable: true, lansUp: [0], state: machineState === 'PRIM' ? 'SECOND' : 'PRIM', status: 'Ready' }],
  };
  const target: ControlTarget = {
    node: 'node1',
    moduleNames: () => ['web'],
    notLoaded: () => [],
    moduleStatus: () => status,
    replicationLink: () => (repl as { link?: () => 'up' | 'down' | null }).link?.() ?? null,
    moduleCommand: async () => undefined,
    logLevel: () => 'info',
    setLogLevel: () => undefined,
    info: () => ({}),
  };
  const handler = makeControlHandler(target);
  const state = async (): Promise<StateResult> => (await handler({ id: 1, cmd: 'state', args: {} } as never)) as StateResult;
  repl.start(role, () => undefined);
  return { end, repl, state };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

it('a PRIM whose link is lost is ALONE in state, nagios and collect at once', async () => {
  const { end, state, repl } = setup('sender', 'PRIM');
  await settle();
  end.emit('status', { state: 'connected', peer: '198.18.0.2:1' } as MirrorStatus);
  end.emit('status', { state: 'in_sync' } as MirrorStatus);
  const up = await state();
  expect(up.modules[0]).toMatchObject({ state: 'PRIM', replication: 'up' });
  expect(nagiosVerdict(up.node, up.modules).code).toBe(0);

  const t0 = performance.now();
  end.emit('status', { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'SECOND silent' } as MirrorStatus);
  const down = await state();
  const after_ms = performance.now() - t0;
  const verdict = nagiosVerdict(down.node, down.modules);
  const collect = collectorView(down.node, down.modules.map((m) => ({ ...m, resources_down: [] })));
  process.stdout.write(`link lost -> state ${down.modules[0]!.state} after ${after_ms.toFixed(1)} ms; nagios "${verdict.line}" (exit ${verdict.code}); collect health ${collect.modules[0]!.health}\n`);
  expect(down.modules[0]).toMatchObject({ state: 'ALONE', replication: 'down' });
  expect(verdict.code).toBe(1);
  expect(collect.modules[0]!.health).not.toBe('ok');
  expect(after_ms).toBeLessThan(1000);

  end.emit('status', { state: 'connected', peer: '198.18.0.2:1' } as MirrorStatus);
  expect((await state()).modules[0]).toMatchObject({ state: 'PRIM', replication: 'up' });
  await repl.dispose();
});

it('on the SECOND, a peer PRIM without a session is reported ALONE', async () => {
  const { end, state, repl } = setup('receiver', 'SECOND');
  await settle();
  await settle();
  expect((await state()).modules[0]!.peers[0]).toMatchObject({ state: 'ALONE' });
  end.emit('status', { state: 'second_connected' } as MirrorStatus);
  expect((await state()).modules[0]!.peers[0]).toMatchObject({ state: 'PRIM' });
  end.emit('status', { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'closed' } as MirrorStatus);
  expect((await state()).modules[0]!.peers[0]).toMatchObject({ state: 'ALONE' });
  await repl.dispose();
});

it('logs a flood of refused connections as one line per interval with the count', async () => {
  const log = new RecordingLog();
  const { end, repl } = setup('receiver', 'SECOND', log);
  await settle();
  await settle();
  for (let i = 0; i < 2767; i++) end.emit('status', { state: 'refused', code: 'HAKIT_E_MIRROR_NOT_PEER', message: `from 198.18.1.${i % 200}` } as MirrorStatus);
  const lines = log.lines.filter((l) => /refused/.test(l.msg ?? ''));
  process.stdout.write(`2767 refused connections -> ${lines.length} log line(s)\n`);
  expect(lines).toHaveLength(1);
  await repl.dispose();
});
