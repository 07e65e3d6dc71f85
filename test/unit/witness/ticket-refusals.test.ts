// The arbitrator's bad input (docs/geo.md): a ticket request with a bad signature or from an
// older incarnation of its node gets no answer, changes nothing (the durable record is the
// same bytes) and is logged with its code; the record survives a restart. A real
// WitnessServer and UdpWitnessClient on loopback.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WitnessServer } from '../../../core/witness/server';
import { nextIncarnation } from '../../../core/daemon/incarnation';
import { UdpWitnessClient } from '../../../core/witness/client';
import { RecordingLog, SILENT_LOG } from '../../../core/log/sink';
import { witnessAfterRestart } from '../../../core/witness/pure/restart';
import { initWitness, witnessStep } from '../../../core/witness/pure/witness';
import { MAX_WITNESS_LEASE_MS } from '../../../core/module/pure/policy';
import { moduleNameProblem } from '../../../core/config/pure/module-name';
import { noteRefusal, EMPTY_REFUSALS, REFUSAL_LOG_INTERVAL_MS } from '../../../core/witness/pure/refusals';

const KEY = Buffer.from('geo-arbitrator-key-0123456789abcdef');
const WRONG_KEY = Buffer.from('not-the-cluster-key-0123456789abcd');
const ADDR = '127.0.0.91';
const PORT = 17_491;
const ASK = { epoch: 1, force: false, bump: false, lease_ms: 3000 };

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-geo-arb-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function codes(log: RecordingLog): string[] {
  return log.lines.map((l) => (l.obj as { code?: string }).code).filter((c): c is string => c !== undefined);
}

async function client(incarnation: number, key = KEY): Promise<UdpWitnessClient> {
  const c = new UdpWitnessClient({ node_id: 'node1', incarnation, key, address: ADDR, port: PORT, reply_timeout_ms: 400, log: SILENT_LOG });
  await c.start();
  return c;
}

it('bad signature and old incarnation: coded refusals, no answer, the durable record unchanged; the record survives a restart', async () => {
  const log = new RecordingLog();
  const state_file = path.join(dir, 'witness.json');
  let w = new WitnessServer({ address: ADDR, port: PORT, key: KEY, lease_ms: 3000, state_file, log });
  await w.start();
  const good = await client(500);
  expect((await good.request('m', { request_id: 1, ...ASK })).granted).toBe(true);
  const before = fs.readFileSync(state_file, 'utf8');

  const forged = await client(900, WRONG_KEY);
  await expect(forged.request('m', { request_id: 1, ...ASK, epoch: 9, force: true })).rejects.toMatchObject({ code: 'HAKIT_E_CONTROL_TIMEOUT' });
  await forged.close();
  expect(codes(log)).toContain('HAKIT_E_TICKET_BAD_SIGNATURE');

  const old = await client(499);
  await expect(old.request('m', { request_id: 2, ...ASK, bump: true })).rejects.toMatchObject({ code: 'HAKIT_E_CONTROL_TIMEOUT' });
  await old.close();
  expect(codes(log)).toContain('HAKIT_E_TICKET_OLD_INCARNATION');
  expect(fs.readFileSync(state_file, 'utf8')).toBe(before);

  await good.close();
  await w.close();
  // Restart: the holder is still recorded (its ticket runs a full lease from the restart).
  w = new WitnessServer({ address: ADDR, port: PORT, key: KEY, lease_ms: 3000, state_file, log: SILENT_LOG });
  await w.start();
  const other = new UdpWitnessClient({ node_id: 'node2', incarnation: 1, key: KEY, address: ADDR, port: PORT, reply_timeout_ms: 1000, log: SILENT_LOG });
  await other.start();
  const r = await other.request('m', { request_id: 1, ...ASK });
  expect(r.granted).toBe(false);
  await other.close();
  await w.close();
}, 20_000);

it('refusal lines are rate-limited per reason and sender', () => {
  let s = EMPTY_REFUSALS;
  const lines: unknown[] = [];
  for (let t = 0; t < 3 * REFUSAL_LOG_INTERVAL_MS; t += 100) {
    const r = noteRefusal(s, 'bad_mac', '10.0.0.1', t);
    s = r.state;
    if (r.line) lines.push(r.line);
  }
  expect(lines).toHaveLength(3);
  expect(noteRefusal(s, 'replay', '10.0.0.1', 0).line).toBeNull(); // not a coded ticket refusal
});

it('after a restart the recorded holder keeps its ticket for the longest lease any witness grants, whatever this one\'s --lease-ms; epochs are kept', () => {
  // Restarted with a shorter --lease-ms than the grant was made with: the holder may still count on the longer one.
  const saved = { lease_ms: 3000, modules: { m: { lease: { holder: 'node1', until_ms: 10, request_id: 7 }, epoch: 4, confirmed: 3 }, n: { lease: null, epoch: 2, confirmed: 2 } } };
  expect(witnessAfterRestart(saved, 1000)).toEqual({ lease_ms: 3000, modules: { m: { lease: { holder: 'node1', until_ms: 1000 + MAX_WITNESS_LEASE_MS }, epoch: 4, confirmed: 3 }, n: { lease: null, epoch: 2, confirmed: 2 } } });
});

it('a module named like a member of every JavaScript object is refused by name, and the witness never reads the member', () => {
  expect(moduleNameProblem('constructor')).toMatch(/reserved/);
  expect(moduleNameProblem('toString')).toMatch(/reserved/);
  expect(moduleNameProblem('construct')).toBeNull();
  const r = witnessStep(initWitness(6000), { type: 'Request', module: 'constructor', node: 'n1', request_id: 1, epoch: 0, force: false, bump: true }, 0);
  expect(r.reply).toMatchObject({ granted: true, epoch: 1 });
});

it('a witness restarted with its clock set back is still heard: its incarnation comes from the state dir, not the clock', async () => {
  const state_file = path.join(dir, 'witness.json');
  const now = Date.now();
  let w = new WitnessServer({ address: ADDR, port: PORT, key: KEY, lease_ms: 3000, state_file, log: SILENT_LOG, incarnation: nextIncarnation(dir, now, 'witness-incarnation') });
  await w.start();
  const c = await client(700);
  try {
    expect((await c.request('m', { request_id: 1, ...ASK })).granted).toBe(true);
    await w.close();
    // The restart a minute "earlier" by the clock: the durable counter still grows.
    w = new WitnessServer({ address: ADDR, port: PORT, key: KEY, lease_ms: 3000, state_file, log: SILENT_LOG, incarnation: nextIncarnation(dir, now - 60_000, 'witness-incarnation') });
    await w.start();
    expect((await c.request('m', { request_id: 2, ...ASK })).granted).toBe(true);
  } finally {
    await c.close();
    await w.close();
  }
}, 20_000);
