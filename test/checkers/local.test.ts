// Checkers on real processes and files of this machine (no network): errd sees a death in
// well under 1 s; custom checkers go down and up; a hung custom checker is killed at its timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModuleMonitor } from '../../core/checkers/host';
import { customProbe } from '../../core/checkers/probes/custom';
import { intfProbe } from '../../core/checkers/probes/intf';
import { localV4FromFibTrie } from '../../core/checkers/probes/ip';
import { procStart, ProcWatch } from '../../core/checkers/probes/proc';
import type { ProbeResult } from '../../core/checkers/probes/types';
import { planMonitor } from '../../core/rules/pure/plan';
import { SILENT_LOG } from '../../core/log/sink';
import type { OperatorCommand } from '../../core/module/pure/types';
import { mirrorWith, okConfigText } from './config-text';

/** A unique marker in the argv of the processes this file starts, so errd matches only them. */
const MARK = `hc${process.pid}x${Date.now() % 100000}`;
const procs: ChildProcess[] = [];
let tmp = '';

/** An idle node process whose command line carries `tag` (comm is "node"). */
function idle(tag: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', tag], { stdio: 'ignore' });
  procs.push(c);
  return c;
}

function script(name: string, body: string): void {
  fs.writeFileSync(path.join(tmp, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-checkers-'));
});
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function until(pred: () => boolean, max_ms: number): Promise<void> {
  const end = Date.now() + max_ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

test('errd: a killed process is seen down in under 1 s with a 10 s scan interval', async () => {
  const a = idle(MARK);
  const b = idle(MARK);
  await until(() => procStart(a.pid ?? 0) !== null && procStart(b.pid ?? 0) !== null, 2_000);
  const results: Array<ProbeResult & { at: number }> = [];
  const w = new ProcWatch({ pattern: { name: 'node', argregex: new RegExp(MARK) }, atleast: 2, atmost: 2 }, 10_000, 100);
  w.start((r) => results.push({ ...r, at: performance.now() }));
  try {
    expect(results[0]).toMatchObject({ ok: true, detail: '2 processes (want 2..2)' });
    const killed = performance.now();
    b.kill('SIGKILL');
    await until(() => results.length > 1, 2_000);
    expect(results[1]).toMatchObject({ ok: false, detail: '1 process (want 2..2)' });
    expect((results[1]?.at ?? Infinity) - killed).toBeLessThan(1_000);
  } finally {
    w.stop();
    a.kill('SIGKILL');
  }
});

test('custom: exit 0 up, exit 1 down, a hung script is killed with its children at the timeout', async () => {
  script('ok.sh', 'exit 0');
  script('bad.sh', 'exit 3');
  script('hang.sh', `sleep 600 & echo $! > ${tmp}/pids; echo $$ >> ${tmp}/pids; sleep 600`);
  const run = (exec: string) => ({ bin_dir: tmp, exec, args: [], env: { HAKIT_MODULE: 'm' } });
  expect(await customProbe(run('ok.sh'), 2_000)).toEqual({ ok: true, detail: 'exit 0' });
  expect(await customProbe(run('bad.sh'), 2_000)).toEqual({ ok: false, detail: 'exit 3' });
  expect(await customProbe(run('nope.sh'), 2_000)).toEqual({ ok: false, detail: 'cannot run nope.sh: ENOENT' });
  expect(await customProbe(run('../escape.sh'), 2_000)).toEqual({ ok: false, detail: '../escape.sh is outside bin/' });
  const t0 = performance.now();
  expect(await customProbe(run('hang.sh'), 300)).toEqual({ ok: false, detail: 'killed after 300 ms timeout' });
  expect(performance.now() - t0).toBeLessThan(1_000);
  await new Promise((r) => setTimeout(r, 100));
  const pids = fs.readFileSync(path.join(tmp, 'pids'), 'utf8').trim().split('\n').map(Number);
  expect(pids).toHaveLength(2);
  expect(pids.filter((p) => procStart(p) !== null)).toEqual([]);
});

test('intf reads sysfs; ip reads fib_trie', async () => {
  expect(await intfProbe('lo')).toMatchObject({ ok: true });
  expect(await intfProbe('hc-none0')).toEqual({ ok: false, detail: 'no interface hc-none0' });
  expect(await intfProbe('../etc')).toMatchObject({ ok: false });
  const trie = `Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 198.18.0.1\n        /32 link BROADCAST\n     |-- 198.18.0.5\n        /32 host LOCAL\nLocal:\n     |-- 198.18.0.100\n        /32 host LOCAL\n`;
  expect([...localV4FromFibTrie(trie)].sort()).toEqual(['198.18.0.100', '198.18.0.5']);
});

test('monitor: a dead process restarts the module in place; past maxloop the module is stopped; a custom checker goes down and up', async () => {
  script('flag.sh', `test -e ${tmp}/flag`);
  fs.writeFileSync(path.join(tmp, 'flag'), '');
  const xml = mirrorWith(
    `<errd polltimer="1s"><proc name="node" argregex="${MARK}m" atleast="1" action="restart"/></errd>` +
      `<check><custom ident="flag" exec="flag.sh" interval="200ms" timeout="1s" rise="1" fall="1" action="stopstart"/></check>`,
  ).replace('<service mode="mirror"', '<service mode="mirror" maxloop="2" loop_interval="1h"');
  const plan = planMonitor(okConfigText(xml), 'm');
  const commands: Array<{ kind: string; at: number }> = [];
  let app: ChildProcess | null = null;
  const startApp = (): void => {
    app = idle(`${MARK}m`);
  };
  startApp();
  await new Promise((r) => setTimeout(r, 100));
  const mon: ModuleMonitor = new ModuleMonitor({
    module: 'm',
    plan,
    bin_dir: tmp,
    env: {},
    deliver: () => undefined,
    command: (c: OperatorCommand) => {
      commands.push({ kind: c.kind, at: performance.now() });
      mon.moduleChanged({ state: 'PRIM', status: 'Transient' });
      setTimeout(() => {
        if (c.kind === 'restart' || c.kind === 'stopstart') startApp();
        setTimeout(() => mon.moduleChanged(c.kind === 'stop' ? { state: 'STOP', status: 'NotReady' } : { state: 'PRIM', status: 'Ready' }), 50);
      }, 20);
      return Promise.resolve();
    },
    moduleState: () => Promise.resolve(null),
    log: SILENT_LOG,
  });
  mon.start({ state: 'PRIM', status: 'Ready' });
  try {
    await until(() => mon.get('errd.node').state === 'up' && mon.get('custom.flag').state === 'up', 3_000);
    expect(mon.status().resources.map((r) => `${r.name}=${r.state}`)).toEqual(['errd.node=up', 'custom.flag=up']);
    // Two deaths: restarted in place each time, seen in under 1 s.
    for (let i = 0; i < 2; i++) {
      const killedAt = performance.now();
      (app as ChildProcess | null)?.kill('SIGKILL');
      await until(() => commands.length > i, 2_000);
      expect(commands[i]?.kind).toBe('restart');
      expect((commands[i]?.at ?? Infinity) - killedAt).toBeLessThan(1_000);
      await until(() => mon.get('errd.node').state === 'up', 3_000);
    }
    // The third within loop_interval is past maxloop=2: stop.
    (app as ChildProcess | null)?.kill('SIGKILL');
    await until(() => commands.length > 2, 2_000);
    expect(commands[2]?.kind).toBe('stop');
    expect(mon.status().last_rule).toMatchObject({ resource: 'errd.node', action: 'stop' });
  } finally {
    mon.dispose();
  }
  // Custom checker: down when the flag goes, up when it is back (module kept PRIM).
  commands.length = 0;
  const mon2: ModuleMonitor = new ModuleMonitor({
    module: 'm2',
    plan: planMonitor(okConfigText(mirrorWith(`<check><custom ident="flag" exec="flag.sh" interval="200ms" timeout="1s" rise="1" fall="1" action="restart"/></check>`)), 'm2'),
    bin_dir: tmp,
    env: {},
    deliver: () => undefined,
    command: (c) => {
      commands.push({ kind: c.kind, at: performance.now() });
      return Promise.reject(new Error('refused in this test'));
    },
    moduleState: () => Promise.resolve(null),
    log: SILENT_LOG,
  });
  mon2.start({ state: 'PRIM', status: 'Ready' });
  try {
    await until(() => mon2.get('custom.flag').state === 'up', 3_000);
    fs.rmSync(path.join(tmp, 'flag'));
    await until(() => mon2.get('custom.flag').state === 'down', 3_000);
    expect(mon2.get('custom.flag')).toMatchObject({ state: 'down', targets: [{ detail: 'exit 1' }] });
    expect(commands[0]?.kind).toBe('restart');
    fs.writeFileSync(path.join(tmp, 'flag'), '');
    await until(() => mon2.get('custom.flag').state === 'up', 3_000);
    expect(mon2.get('custom.flag').state).toBe('up');
    // Bad input: unknown resource and wrong value are coded errors; nothing changes.
    expect(() => mon2.set('custom.nope', 'down')).toThrow(expect.objectContaining({ code: 'HAKIT_E_UNKNOWN_RESOURCE' }));
    expect(() => mon2.set('custom.flag', 'sideways')).toThrow(expect.objectContaining({ code: 'HAKIT_E_BAD_RESOURCE_VALUE' }));
    expect(mon2.get('custom.flag').state).toBe('up');
  } finally {
    mon2.dispose();
  }
}, 30_000);

test('module checker: this module waits (stop, then start) while the other module is not running', async () => {
  let other = { state: 'STOP', status: 'NotReady' };
  const commands: string[] = [];
  const xml = mirrorWith('<check><module name="db" interval="100ms"/></check>');
  const mon: ModuleMonitor = new ModuleMonitor({
    module: 'web',
    plan: planMonitor(okConfigText(xml), 'web'),
    bin_dir: tmp,
    env: {},
    deliver: () => undefined,
    command: (c) => {
      commands.push(c.kind);
      mon.moduleChanged({ state: 'PRIM', status: 'Transient' });
      setTimeout(() => mon.moduleChanged(c.kind === 'stop' ? { state: 'STOP', status: 'NotReady' } : { state: 'PRIM', status: 'Ready' }), 20);
      return Promise.resolve();
    },
    moduleState: (m, at) => Promise.resolve(m === 'db' && at === null ? other : null),
    log: SILENT_LOG,
  });
  mon.start({ state: 'PRIM', status: 'Ready' });
  try {
    await until(() => commands.includes('stop'), 3_000);
    expect(mon.get('module.module_db')).toMatchObject({ state: 'down', active: true, targets: [{ detail: 'db is STOP (NotReady)' }] });
    other = { state: 'PRIM', status: 'Ready' };
    await until(() => commands.includes('start'), 3_000);
    expect(commands).toEqual(['stop', 'start']);
  } finally {
    mon.dispose();
  }
});
