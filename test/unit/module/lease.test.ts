// The witness lease on the node side (core/module/pure/lease.ts): late grants, early timers,
// bounded renewals.
import { MAX_OUTSTANDING_WITNESS_REQUESTS } from '../../../core/module/pure/lease';
import type { ModuleEffect } from '../../../core/module/pure/types';
import { driver, peer, type Driver } from './helpers';

type Request = Extract<ModuleEffect, { type: 'WitnessRequest' }>;

function requests(fx: readonly ModuleEffect[]): Request[] {
  return fx.filter((e): e is Request => e.type === 'WitnessRequest');
}

function lastRequest(d: Driver): Request {
  const r = requests(d.effects).at(-1);
  if (r === undefined) throw new Error('no witness request');
  return r;
}

function grant(d: Driver, r: Request, epoch = r.epoch, advance_ms = 0): ModuleEffect[] {
  return d.send({ type: 'WitnessReply', request_id: r.request_id, granted: true, lease_ms: r.lease_ms, epoch }, advance_ms);
}

/** A node that served alone before comes back, takes epoch 4 from the witness and runs (ALONE, renewed, confirmed). */
function serving(): Driver {
  const d = driver('n1', { hasWitness: true }, { epoch: 3, copyComplete: true, lastRole: 'ALONE' });
  d.send({ type: 'Command', command: { kind: 'start' } });
  d.settle();
  d.send({ type: 'PeerView', peers: [peer('n2', null, false)] });
  d.send({ type: 'TimerFired', id: 'peer-wait' }, 5_000);
  const bump = lastRequest(d);
  expect(bump.bump).toBe(true);
  grant(d, bump, 4, 5);
  d.settle();
  const confirm = lastRequest(d);
  expect(confirm).toEqual(expect.objectContaining({ bump: false, epoch: 4 }));
  grant(d, confirm, 4, 5);
  expect(`${d.m.state}/${d.m.status}`).toBe('ALONE/Ready');
  return d;
}

describe('the witness lease, node side', () => {
  const renew_ms = driver('n1').m.policy.witness_renew_ms;

  it('a late grant is valid, counted from ITS request send time (never from when it arrived)', () => {
    const d = serving();
    const p = d.m.policy;
    // Renewal r1 goes out; its answer is late; r2, r3 go out on time, unanswered.
    d.send({ type: 'TimerFired', id: 'witness-renew' }, renew_ms);
    const r1 = lastRequest(d);
    const sent1 = d.now;
    d.send({ type: 'TimerFired', id: 'witness-retry' }, renew_ms);
    const r2 = lastRequest(d);
    expect(r2.request_id).toBe(r1.request_id + 1);
    d.send({ type: 'TimerFired', id: 'witness-retry' }, renew_ms);
    expect(lastRequest(d).request_id).toBe(r1.request_id + 2);
    // r1's grant arrives 3 periods after it was sent.
    const fx = grant(d, r1, 4, renew_ms);
    const until = sent1 + Math.floor(r1.lease_ms * (1 - 2 * p.max_clock_drift_ratio));
    expect(d.m.lease?.until_ms).toBe(until);
    expect(fx).toContainEqual({ type: 'SetTimer', id: 'lease-expiry', at_ms: until - p.witness_stop_margin_ms });
    expect(d.m.state).toBe('ALONE');
    // r2's grant, later still, moves the lease on by the time between the two sends only.
    grant(d, r2, 4, 10);
    expect(d.m.lease?.until_ms).toBe(until + renew_ms);
    // r1 answered again (a duplicate) or an older answer after a newer one: ignored.
    const before = d.m.lease;
    grant(d, r1, 4, 10);
    expect(d.m.lease).toBe(before);
  });

  it('a grant too late to be useful does not keep the node serving past its stop point', () => {
    const d = serving();
    const p = d.m.policy;
    d.send({ type: 'TimerFired', id: 'witness-renew' }, renew_ms);
    const r1 = lastRequest(d);
    const stop_at = d.now + Math.floor(r1.lease_ms * (1 - 2 * p.max_clock_drift_ratio)) - p.witness_stop_margin_ms;
    // Nothing else is answered; r1's grant arrives after its own stop point.
    for (let i = 0; i < 100 && d.now < stop_at + renew_ms && d.m.state === 'ALONE'; i++) d.send({ type: 'TimerFired', id: 'witness-retry' }, renew_ms);
    expect(d.m.state).toBe('WAIT');
    grant(d, r1, 4, 1);
    expect(d.m.state).toBe('WAIT');
  });

  it('keeps renewing once per period while answers are missing, with a bounded list of outstanding requests', () => {
    const d = serving();
    const first = lastRequest(d).request_id;
    for (let i = 0; i < 40 && d.m.state === 'ALONE'; i++) d.send({ type: 'TimerFired', id: 'witness-retry' }, renew_ms);
    const sent = requests(d.effects).filter((r) => r.request_id > first);
    // One request per period until the lease ran out (about (timeout + period) / period of them).
    const p = d.m.policy;
    expect(sent.length).toBeGreaterThanOrEqual(Math.floor((p.heartbeat.timeout_ms + p.heartbeat.period_ms) / renew_ms) - 1);
    expect(d.m.witnessRecent.length).toBeLessThanOrEqual(MAX_OUTSTANDING_WITNESS_REQUESTS);
    expect(d.m.state).toBe('WAIT');
  });

  it('an early timer does not stop the renewals: the machine sets its wake-up again', () => {
    const d = serving();
    const last_sent = d.m.lastWitnessRequest_ms ?? 0;
    // The renewal timer fires 2 ms early: not due yet, but the next wake-up is set.
    const early = d.send({ type: 'TimerFired', id: 'witness-renew' }, last_sent + renew_ms - 2 - d.now);
    expect(requests(early)).toEqual([]);
    expect(early).toContainEqual({ type: 'SetTimer', id: 'witness-renew', at_ms: last_sent + renew_ms });
    const onTime = d.send({ type: 'TimerFired', id: 'witness-renew' }, 2);
    expect(requests(onTime)).toHaveLength(1);
    // Unanswered, the retry timer fires 1 ms early: the request stays awaited and the retry is set again.
    const r = lastRequest(d);
    const retryEarly = d.send({ type: 'TimerFired', id: 'witness-retry' }, renew_ms - 1);
    expect(requests(retryEarly)).toEqual([]);
    expect(d.m.witnessReq?.id).toBe(r.request_id);
    expect(retryEarly).toContainEqual({ type: 'SetTimer', id: 'witness-retry', at_ms: d.now + 1 });
    expect(requests(d.send({ type: 'TimerFired', id: 'witness-retry' }, 1))).toHaveLength(1);
  });

  it('never sets the lease-expiry wake-up in the past (a timer at once, again and again, would spin)', () => {
    const d = serving();
    d.send({ type: 'Command', command: { kind: 'restart' } }); // stop_prim runs: a job is in flight
    const until = (d.m.lease?.until_ms ?? 0) - d.m.policy.witness_stop_margin_ms;
    const fx = d.send({ type: 'TimerFired', id: 'lease-expiry' }, until - d.now + 1);
    expect(fx.filter((e) => e.type === 'SetTimer' && e.id === 'lease-expiry')).toEqual([]);
  });

  it('a refusal newer than the lease drops it; an older one is older news', () => {
    const d = serving();
    d.send({ type: 'TimerFired', id: 'witness-renew' }, renew_ms);
    const r1 = lastRequest(d);
    d.send({ type: 'TimerFired', id: 'witness-retry' }, renew_ms);
    const r2 = lastRequest(d);
    grant(d, r2, 4, 5);
    d.send({ type: 'WitnessReply', request_id: r1.request_id, granted: false, lease_ms: r1.lease_ms, epoch: 4 }, 5);
    expect(d.m.lease).not.toBeNull();
    d.send({ type: 'TimerFired', id: 'witness-renew' }, renew_ms);
    const r3 = lastRequest(d);
    d.send({ type: 'WitnessReply', request_id: r3.request_id, granted: false, lease_ms: r3.lease_ms, epoch: 4 }, 5);
    expect(d.m.lease).toBeNull();
    expect(d.m.state).toBe('WAIT');
  });

  it('a late bump grant after the new epoch was adopted never takes the epoch back or forward', () => {
    const d = serving();
    // The SECOND's session breaks: writes go on without it, a new epoch is wanted.
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'ReplicationLost', reason: 'test' }, 5);
    const b1 = lastRequest(d);
    expect(b1.bump).toBe(true);
    d.send({ type: 'TimerFired', id: 'witness-retry' }, renew_ms);
    const b2 = lastRequest(d);
    expect(b2.bump).toBe(true);
    grant(d, b2, 6, 5);
    expect(d.m.persisted.epoch).toBe(6);
    // b1 was answered (epoch 5) but arrives after b2's answer: older news.
    grant(d, b1, 5, 5);
    expect(d.m.persisted.epoch).toBe(6);
  });

  it('a grant nobody waits for any more is released at once', () => {
    const d = driver('n2', { hasWitness: true }, { epoch: 3, copyComplete: true, lastRole: 'ALONE' });
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    d.send({ type: 'PeerView', peers: [peer('n1', null, false)] });
    d.send({ type: 'TimerFired', id: 'peer-wait' }, 5_000);
    const r = lastRequest(d);
    // The peer turns up serving: this node joins it and drops its request.
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'ALONE', status: 'Ready', serving: true, epoch: 3, copyComplete: true, lastRole: 'ALONE' })] }, 10);
    expect(d.m.state).toBe('SECOND');
    const fx = grant(d, r, 4, 10);
    expect(fx).toContainEqual({ type: 'WitnessRelease', up_to_request_id: r.request_id });
    expect(d.m.lease).toBeNull();
  });
});
