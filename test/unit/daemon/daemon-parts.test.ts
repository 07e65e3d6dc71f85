// Small decisions of the daemon's adapters: VIP interface choice, control command parsing,
// durable state records, incarnation, cluster key checks, drop-log rate limiting.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseInterface, sameSubnet } from '../../../core/net/resolve-vip';
import { makeControlHandler, parseOperatorCommand, type ControlTarget } from '../../../core/daemon/control-handlers';
import { FileStateStore } from '../../../core/module/runner/state-store';
import { nextIncarnation } from '../../../core/daemon/incarnation';
import { readClusterKey } from '../../../core/daemon/cluster-key';
import { DropLog } from '../../../core/membership/transport/drop-log';
import { RecordingLog } from '../../../core/log/sink';
import { INITIAL_PERSISTED } from '../../../core/module/pure/types';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-parts-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('VIP interface choice', () => {
  const addrs = [
    { ifname: 'lo', address: '127.0.0.1', prefix_len: 8 },
    { ifname: 'eth0', address: '198.18.0.11', prefix_len: 24 },
    { ifname: 'eth1', address: '198.18.1.11', prefix_len: 24 },
  ];
  it('picks the interface whose subnet holds the VIP, with its prefix', () => {
    expect(chooseInterface({ address: '198.18.1.50', prefix_len: null, ifname: null }, addrs)).toEqual({ address: '198.18.1.50', prefix_len: 24, ifname: 'eth1' });
    expect(chooseInterface({ address: '198.18.0.50', prefix_len: 32, ifname: null }, addrs)).toEqual({ address: '198.18.0.50', prefix_len: 32, ifname: 'eth0' });
    expect(chooseInterface({ address: '198.18.9.50', prefix_len: null, ifname: null }, addrs)).toBeUndefined();
    expect(chooseInterface({ address: '198.18.0.50', prefix_len: null, ifname: 'eth1' }, addrs)).toBeUndefined();
    expect(sameSubnet('198.18.0.1', '198.18.0.255', 24)).toBe(true);
    expect(sameSubnet('198.18.0.1', '198.18.1.1', 24)).toBe(false);
  });
});

describe('control handlers', () => {
  const calls: unknown[] = [];
  const target: ControlTarget = {
    node: 'n1',
    moduleNames: () => ['web'],
    notLoaded: () => [{ module: 'broken', reason: 'HAKIT_E_CONF_X: bad' }],
    moduleStatus: (m) => ({ module: m, mode: 'mirror', state: 'STOP', status: 'NotReady', epoch: 0, copyComplete: false, failover: true, boot: false, peers: [], last_error: null }),
    moduleCommand: async (m, c) => {
      calls.push([m, c]);
    },
    logLevel: () => 'info',
    setLogLevel: (l) => calls.push(['level', l]),
    info: () => ({ node: 'n1' }),
  };
  const handle = makeControlHandler(target);
  it('parses commands and refuses bad ones with coded errors', async () => {
    expect(parseOperatorCommand({ kind: 'prim' })).toEqual({ kind: 'prim' });
    expect(parseOperatorCommand({ kind: 'boot', on: true })).toEqual({ kind: 'boot', on: true });
    expect(() => parseOperatorCommand({ kind: 'boot' })).toThrow(expect.objectContaining({ code: 'HAKIT_E_CONTROL_BAD_REQUEST' }));
    expect(() => parseOperatorCommand({ kind: 'reboot' })).toThrow(expect.objectContaining({ code: 'HAKIT_E_CONTROL_BAD_REQUEST' }));
    await expect(handle({ id: 1, cmd: 'command', args: { module: 'db', command: { kind: 'start' } } })).rejects.toMatchObject({ code: 'HAKIT_E_UNKNOWN_MODULE' });
    await expect(handle({ id: 1, cmd: 'level', args: { level: 'chatty' } })).rejects.toMatchObject({ code: 'HAKIT_E_BAD_LOG_LEVEL' });
    await expect(handle({ id: 1, cmd: 'reboot', args: {} })).rejects.toMatchObject({ code: 'HAKIT_E_CONTROL_UNKNOWN_COMMAND' });
    expect(calls).toEqual([]);
    expect(await handle({ id: 2, cmd: 'command', args: { module: 'web', command: { kind: 'failover', on: false } } })).toEqual({ module: 'web', command: 'failover', accepted: true });
    expect(await handle({ id: 3, cmd: 'state', args: {} })).toMatchObject({ node: 'n1', modules: [{ module: 'web', state: 'STOP' }], not_loaded: [{ module: 'broken' }] });
    await expect(handle({ id: 4, cmd: 'state', args: { module: 'broken' } })).rejects.toThrow(/installed but not loaded: HAKIT_E_CONF_X/);
    expect(calls).toEqual([['web', { kind: 'failover', on: false }]]);
  });
});

describe('durable state record', () => {
  it('writes atomically and reads back; a corrupt record is set aside and the safe initial record used', () => {
    const log = new RecordingLog();
    const store = new FileStateStore(dir, log);
    expect(store.read('web')).toEqual(INITIAL_PERSISTED);
    const rec = { ...INITIAL_PERSISTED, epoch: 4, copyComplete: true, lastRole: 'PRIM' as const, boot: true };
    store.write('web', rec);
    expect(new FileStateStore(dir, log).read('web')).toEqual(rec);
    // A record of an older version has no session count: read as 0; a wrong one is corrupt.
    const { sessions: _none, ...older } = { ...rec, sessions: 7 };
    fs.writeFileSync(path.join(dir, 'web.state.json'), JSON.stringify({ format: 1, record: older }));
    expect(store.read('web')).toEqual({ ...rec, sessions: 0 });
    store.write('web', { ...rec, sessions: 7 });
    expect(store.read('web').sessions).toBe(7);
    fs.writeFileSync(path.join(dir, 'web.state.json'), JSON.stringify({ format: 1, record: { ...rec, sessions: -1 } }));
    expect(store.read('web')).toEqual(INITIAL_PERSISTED);
    expect(log.lines[0]).toMatchObject({ level: 'error', obj: { code: 'HAKIT_E_STATE_RECORD_UNREADABLE' } });
    // The next session's count must stay a safe integer (the peers refuse any other).
    fs.writeFileSync(path.join(dir, 'web.state.json'), JSON.stringify({ format: 1, record: { ...rec, sessions: Number.MAX_SAFE_INTEGER } }));
    expect(store.read('web')).toEqual(INITIAL_PERSISTED);
    fs.writeFileSync(path.join(dir, 'web.state.json'), '{"format":1,"record":{"epoch":"x"}}');
    expect(store.read('web')).toEqual(INITIAL_PERSISTED);
    expect(fs.readdirSync(dir).some((f) => f.startsWith('web.state.json.corrupt-'))).toBe(true);
    expect(log.lines[0]).toMatchObject({ level: 'error' });
    // Root ignores mode bits: a directory in the record's place makes the rename fail.
    fs.rmSync(path.join(dir, 'web.state.json'), { force: true });
    fs.mkdirSync(path.join(dir, 'web.state.json'));
    fs.writeFileSync(path.join(dir, 'web.state.json', 'x'), '');
    expect(() => store.write('web', rec)).toThrow(expect.objectContaining({ code: 'HAKIT_E_PERSIST' }));
  });
});

describe('incarnation and cluster key', () => {
  it('grows at every start, even when the clock goes back', () => {
    const a = nextIncarnation(dir, 1_000_000);
    const b = nextIncarnation(dir, 5);
    expect(a).toBe(1_000_000);
    expect(b).toBe(1_000_001);
  });
  it('refuses a short or world-readable key', () => {
    const f = path.join(dir, 'k');
    fs.writeFileSync(f, 'short\n', { mode: 0o600 });
    expect(() => readClusterKey(f)).toThrow(expect.objectContaining({ code: 'HAKIT_E_CLUSTER_KEY_BAD' }));
    fs.writeFileSync(f, '0123456789abcdef0123\n');
    fs.chmodSync(f, 0o644);
    expect(() => readClusterKey(f)).toThrow(/chmod 600/);
    fs.chmodSync(f, 0o600);
    expect(readClusterKey(f).toString()).toBe('0123456789abcdef0123');
  });
});

describe('drop log', () => {
  it('writes at most one line per interval, with the counts since the last line, bounded in keys', () => {
    const log = new RecordingLog();
    const d = new DropLog(log, 1000);
    for (let i = 0; i < 500; i++) d.record('bad_mac', 0, `198.18.0.${i % 250}:9010`, i);
    expect(log.lines).toHaveLength(1);
    d.record('replay', 1, 'x', 1500);
    expect(log.lines).toHaveLength(2);
    const drops = (log.lines[1]!.obj as { drops: Record<string, number> }).drops;
    expect(Object.keys(drops).length).toBeLessThanOrEqual(65);
    expect(Object.values(drops).reduce((a, b) => a + b, 0)).toBe(500);
  });
});
