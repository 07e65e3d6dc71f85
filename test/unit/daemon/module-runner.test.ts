// The runner with fakes beside every port and a tiny scripted machine: effects in order,
// durable before announced, results fed back as events, refusals coded, failures contained.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModuleRunner, type StepFn } from '../../../core/module/runner/module-runner';
import { MemoryStateStore } from '../../../core/module/runner/state-store';
import { NoWitness, NothingToReplicate } from '../../../core/module/runner/ports';
import { REAL_CLOCK } from '../../../core/module/runner/clock';
import { FakeProcessRunner } from '../../../core/scripts/fake-process-runner';
import { FakeVipManager } from '../../../core/net/fake-vip-manager';
import { RecordingLog } from '../../../core/log/sink';
import { INITIAL_PERSISTED, type ModuleAnnouncement, type ModuleEffect, type ModuleEvent } from '../../../core/module/pure/types';

interface S {
  readonly trace: string[];
  /** Exit codes of the scripts, in order. */
  readonly codes?: (number | null)[];
}

const ann = (state: ModuleAnnouncement['state'], status: ModuleAnnouncement['status']): ModuleAnnouncement => ({
  module: 'web', mode: 'mirror', state, status, serving: state === 'ALONE', epoch: 1, copyComplete: true,
  lastRole: 'ALONE', tookOver: false, handover: false, wantsPrim: false, started: true,
});
const env = { HAKIT_MODULE: 'web', HAKIT_NODE: 'n1', HAKIT_FROM_STATE: 'WAIT', HAKIT_TO_STATE: 'ALONE', HAKIT_ACTION: 'prim' } as const;

/** A scripted machine: prim → persist, VIP, start_prim; exit → announce ALONE and a timer. */
const step: StepFn<S> = (s, e, now) => {
  const trace = [...s.trace, e.type === 'Command' ? `Command:${e.command.kind}` : e.type];
  const codes = e.type === 'ScriptExited' ? [...(s.codes ?? []), e.code] : s.codes;
  const fx: ModuleEffect[] = [];
  if (e.type === 'Command' && e.command.kind === 'prim') {
    fx.push({ type: 'Persist', record: { ...INITIAL_PERSISTED, epoch: 1, copyComplete: true, lastRole: 'ALONE' } });
    fx.push({ type: 'Announce', announcement: ann('ALONE', 'Transient') });
    fx.push({ type: 'SetVip', present: true });
    fx.push({ type: 'GratuitousArp' });
    fx.push({ type: 'RunScript', run_id: 1, script: 'start_prim', args: [], timeout_ms: 1000, env });
    fx.push({ type: 'CommandAccepted', command: 'prim', request_id: e.request_id });
  } else if (e.type === 'Command' && e.command.kind === 'second') {
    fx.push({ type: 'Refuse', command: 'second', code: 'HAKIT_E_USAGE', message: 'peer is not primary', request_id: e.request_id });
  } else if (e.type === 'Command' && e.command.kind === 'stop') {
    throw new Error('table cannot produce this');
  } else if (e.type === 'ScriptExited') {
    fx.push({ type: 'Announce', announcement: ann('ALONE', 'Ready') });
    fx.push({ type: 'SetTimer', id: 'restart-delay', at_ms: now + 30 });
  }
  return { state: { trace, ...(codes ? { codes } : {}) }, effects: fx };
};

function setup(over: { binDir?: string; mode?: 'mirror' | 'farm' } = {}) {
  const scripts = new FakeProcessRunner();
  const vips = new FakeVipManager();
  const store = new MemoryStateStore();
  const log = new RecordingLog();
  const announced: ModuleAnnouncement[] = [];
  const order: string[] = [];
  const origWrite = store.write.bind(store);
  store.write = (m, r) => {
    order.push('persist');
    origWrite(m, r);
  };
  const origAdd = vips.ensurePresent.bind(vips);
  vips.ensurePresent = async (v) => {
    order.push('vip+');
    return origAdd(v);
  };
  const origRun = scripts.run.bind(scripts);
  scripts.run = async (r) => {
    order.push(`run:${r.script}`);
    return origRun(r);
  };
  const runner = new ModuleRunner<S>({
    module: 'web', node: 'n1', mode: over.mode ?? 'mirror', initial: { trace: [] }, step,
    bin_dir: over.binDir ?? binDir, user_vars: { APP: 'x' }, scripts, vips,
    vip_specs: [{ address: '198.18.9.9', prefix_len: 24, ifname: 'eth0' }],
    store, replication: new NothingToReplicate(), witness: new NoWitness(), clock: REAL_CLOCK, log,
    policy_failover: true,
    onAnnounce: (a) => {
      order.push(`announce:${a.state}/${a.status}`);
      announced.push(a);
    },
  });
  return { runner, scripts, vips, store, log, announced, order };
}

let binDir = '';
beforeAll(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-runner-'));
  binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir);
  fs.writeFileSync(path.join(binDir, 'start_prim'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
});
afterAll(() => fs.rmSync(path.dirname(binDir), { recursive: true, force: true }));

const until = async (cond: () => boolean, max_ms = 2000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > max_ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

it('performs effects in order: durable before announced, VIP before start_prim; feeds results back', async () => {
  const t = setup();
  await t.runner.command({ kind: 'prim' });
  await until(() => (t.runner.machineState() as S).trace.includes('TimerFired'));
  expect(t.order.slice(0, 4)).toEqual(['persist', 'announce:ALONE/Transient', 'vip+', 'run:start_prim']);
  expect(t.order).toContain('announce:ALONE/Ready');
  expect(t.vips.log).toEqual(['add 198.18.9.9@eth0', 'arp 198.18.9.9@eth0 x3']);
  expect(t.scripts.requests[0]!.env).toMatchObject({ APP: 'x', HAKIT_MODULE: 'web', HAKIT_ACTION: 'prim' });
  expect(t.runner.machineState().trace).toEqual(['Command:prim', 'ScriptExited', 'TimerFired']);
  expect(t.runner.status()).toMatchObject({ state: 'ALONE', status: 'Ready', epoch: 1, copyComplete: true, failover: true });
  await t.runner.dispose();
});

it('returns a refusal as the coded error and changes nothing', async () => {
  const t = setup();
  await expect(t.runner.command({ kind: 'second' })).rejects.toMatchObject({ code: 'HAKIT_E_USAGE' });
  expect(t.store.writes).toHaveLength(0);
  expect(t.runner.status().last_error).toMatchObject({ code: 'HAKIT_E_USAGE' });
  await t.runner.dispose();
});

it('a broken invariant stops the module: VIP dropped, STOP announced, commands refused', async () => {
  const t = setup();
  await t.runner.command({ kind: 'prim' });
  await t.runner.whenIdle();
  await expect(t.runner.command({ kind: 'stop' })).rejects.toMatchObject({ code: 'HAKIT_E_INTERNAL' });
  await until(() => t.vips.present.size === 0);
  expect(t.announced.at(-1)).toMatchObject({ state: 'STOP', serving: false });
  expect(t.runner.isBroken()).toBe(true);
  await expect(t.runner.command({ kind: 'start' })).rejects.toMatchObject({ code: 'HAKIT_E_INTERNAL' });
  await t.runner.dispose();
});

it('a Persist that fails stops the module before anything is announced', async () => {
  const t = setup();
  t.store.failWrites = true;
  await expect(t.runner.command({ kind: 'prim' })).rejects.toMatchObject({ code: 'HAKIT_E_INTERNAL' });
  expect(t.order).not.toContain('announce:ALONE/Transient');
  expect(t.order).not.toContain('vip+');
  expect(t.runner.status().last_error).toMatchObject({ code: 'HAKIT_E_PERSIST' });
  await t.runner.dispose();
});

it('coalesces peer views queued while busy and reports an absent optional script as exit 0', async () => {
  // start_prim is optional in farm mode (start_both is its required one).
  const t = setup({ binDir: path.join(os.tmpdir(), 'hd-no-such-bin'), mode: 'farm' });
  const accepted = t.runner.command({ kind: 'prim' }); // busy: awaiting the VIP
  const views: ModuleEvent[] = Array.from({ length: 50 }, (_, i) => ({ type: 'PeerView', peers: [{ node: 'n2', reachable: i % 2 === 0, lansUp: [], module: null }] }));
  for (const v of views) t.runner.deliver(v);
  await accepted;
  await until(() => t.runner.machineState().trace.includes('ScriptExited'));
  expect(t.runner.machineState().trace.filter((x) => x === 'PeerView')).toHaveLength(1);
  expect(t.runner.status().peers[0]).toMatchObject({ node: 'n2', reachable: false });
  expect(t.scripts.requests).toHaveLength(0);
  expect(t.runner.machineState().codes).toEqual([0]);
  await t.runner.dispose();
});

it('reports a required script that is missing (its release removed under the module) as failed, exit 127, coded', async () => {
  const t = setup({ binDir: path.join(os.tmpdir(), 'hd-no-such-bin'), mode: 'mirror' });
  await t.runner.command({ kind: 'prim' });
  await until(() => t.runner.machineState().trace.includes('ScriptExited'));
  expect(t.runner.machineState().codes).toEqual([127]);
  expect(t.scripts.requests).toHaveLength(0);
  expect(t.log.lines.some((l) => l.level === 'error' && (l.obj as { code?: string }).code === 'HAKIT_E_MOD_SCRIPT_MISSING')).toBe(true);
  await t.runner.dispose();
});

it('releaseVips removes the VIPs whatever the machine says (a stop that timed out at shutdown)', async () => {
  const t = setup();
  await t.runner.command({ kind: 'prim' });
  await until(() => (t.runner.machineState() as S).trace.includes('TimerFired'));
  const vip = { address: '198.18.9.9', prefix_len: 24, ifname: 'eth0' };
  expect(await t.vips.isPresent(vip)).toBe(true);
  await t.runner.releaseVips();
  expect(await t.vips.isPresent(vip)).toBe(false);
  expect(t.runner.status()).toMatchObject({ state: 'ALONE' });
  await t.runner.dispose();
});
