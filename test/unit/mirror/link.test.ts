// The replication link as a pure machine (core/mirror/pure/link.ts): events in, effects out,
// time as an input. No channel, no journal: the test plays the runner.
import fc from 'fast-check';
import { acksUnasked, cloneLinkState, drainSeq, fenceRefusal, hasRoom, initialLinkState, isCurrent, isFenced, linkStep, phaseName, LINK_DEFAULTS, type LinkConfig, type LinkEffect, type LinkEvent, type LinkState } from '../../../core/mirror/pure/link';
import { opWeightBytes, type MirrorOp } from '../../../core/mirror/pure/ops';

const CFG: LinkConfig = { ...LINK_DEFAULTS, max_inflight_bytes: 1000 };
const w = (n: number, len = 100): MirrorOp => ({ kind: 'write', path: `/f${n}`, offset: 0, data: new Uint8Array(len) });
const fsync = (path = '/f'): MirrorOp => ({ kind: 'fsync', path });

class Driver {
  s: LinkState = initialLinkState({ peer: 'second:7000' });
  now = 1_000;
  log: LinkEffect[] = [];
  feed(e: LinkEvent, dt = 0): LinkEffect[] {
    this.now += dt;
    const r = linkStep(this.s, e, this.now, CFG);
    this.s = r.state;
    this.log.push(...r.effects);
    return [...r.effects];
  }
  kinds(e: LinkEvent, dt = 0): string[] { return this.feed(e, dt).map((x) => x.kind); }
  /** start, connect, a journal pass, in sync. */
  inSync(): this {
    this.feed({ kind: 'start' });
    this.feed({ kind: 'connected', session: 's1', mode: 'journal' });
    this.feed({ kind: 'in_sync', gen: this.s.gen });
    return this;
  }
}

const of = <K extends LinkEffect['kind']>(fx: readonly LinkEffect[], kind: K): Array<Extract<LinkEffect, { kind: K }>> => fx.filter((x): x is Extract<LinkEffect, { kind: K }> => x.kind === kind);

test('ALONE: start opens a connection; an op is recorded (journal), not numbered', () => {
  const d = new Driver();
  expect(phaseName(d.s)).toBe('alone');
  // The fence is wanted from the start (docs/mirror.md, "The ALONE fence").
  expect(d.feed({ kind: 'start' })).toEqual([{ kind: 'fence_wanted' }, { kind: 'open_channel', purpose: 'connect', timeout_ms: CFG.welcome_timeout_ms }]);
  expect(phaseName(d.s)).toBe('connecting');
  expect(d.kinds({ kind: 'connect_tick' })).toEqual([]); // one attempt at a time
  expect(d.feed({ kind: 'enqueue', op: w(1) })).toEqual([{ kind: 'record', op: w(1) }]);
  expect(d.s.next_seq).toBe(1);
  d.feed({ kind: 'connect_failed', message: 'ECONNREFUSED' });
  expect(d.kinds({ kind: 'connect_tick' })).toEqual(['open_channel']);
});

test('connected: attach, status, STATE syncing with the first seq, a pass; in_sync after it', () => {
  const d = new Driver();
  d.feed({ kind: 'start' });
  const fx = d.feed({ kind: 'connected', session: 's1', mode: 'full' });
  expect(fx.map((x) => x.kind)).toEqual(['attach', 'status', 'send_frame', 'start_reintegration']);
  expect(of(fx, 'send_frame')[0]).toMatchObject({ frame_type: 'STATE', body: { session: 's1', first_seq: 1, state: 'syncing' } });
  expect(of(fx, 'start_reintegration')[0]).toEqual({ kind: 'start_reintegration', mode: 'full', gen: d.s.gen });
  expect(d.s.route).toBe('walking');
  expect(d.kinds({ kind: 'names_reconciled', gen: d.s.gen - 1 })).toEqual([]);
  expect(d.s.route).toBe('walking'); // a stale pass does not move the phase
  d.feed({ kind: 'names_reconciled', gen: d.s.gen });
  expect(d.s.route).toBe('syncing');
  expect(d.feed({ kind: 'in_sync', gen: d.s.gen })).toEqual([{ kind: 'release_held' }, { kind: 'status', status: { state: 'in_sync' } }]);
  expect(phaseName(d.s)).toBe('in_sync');
});

test('seq numbers follow queue order; a cumulative ACK completes every op up to it and only those', () => {
  const d = new Driver().inSync();
  const seqs = [w(1), w(2), fsync(), w(3)].map((op) => of(d.feed({ kind: 'enqueue', op }), 'queued')[0]!.seq);
  expect(seqs).toEqual([1, 2, 3, 4]);
  expect(of(d.log, 'send_op').map((x) => x.seq)).toEqual([1, 2, 3, 4]);
  expect(d.feed({ kind: 'ack', seq: 2 })).toEqual([{ kind: 'complete', through_seq: 2 }]);
  // The fsync (seq 3) completes only with an ACK that covers it, hence every earlier op.
  expect(d.feed({ kind: 'ack', seq: 2 })).toEqual([]);
  expect(d.feed({ kind: 'ack', seq: 3 })).toEqual([{ kind: 'complete', through_seq: 3 }]);
  expect(drainSeq(d.s)).toBe(4);
  d.feed({ kind: 'ack', seq: 9 }); // beyond what was sent: completes what is in flight only
  expect(d.s.done_seq).toBe(4);
  expect(drainSeq(d.s)).toBeUndefined();
});

test('ack_now: every op but a write by default; acksUnasked once no lazy write is outstanding (a resend keeps the flag)', () => {
  const d = new Driver().inSync();
  expect(acksUnasked(d.s)).toBe(true); // nothing in flight
  d.feed({ kind: 'enqueue', op: w(1) }); // seq 1: lazy
  d.feed({ kind: 'enqueue', op: w(2), ack_now: true }); // seq 2
  d.feed({ kind: 'enqueue', op: fsync() }); // seq 3
  d.feed({ kind: 'enqueue', op: { kind: 'mkdir', path: '/d', mode: 0o755 } }); // seq 4
  expect(of(d.log, 'send_op').map((x) => [x.seq, x.ack_now])).toEqual([[1, false], [2, true], [3, true], [4, true]]);
  expect(d.s.lazy_seq).toBe(1);
  expect(acksUnasked(d.s)).toBe(false); // seq 1's ACK may come late: a sync call ships its barrier
  d.feed({ kind: 'ack', seq: 1 });
  expect(acksUnasked(d.s)).toBe(true); // 2-4 are acknowledged at once: a sync call waits for them
  // Resent after a broken connection, an op keeps its flag.
  d.feed({ kind: 'enqueue', op: w(5) });
  d.log.length = 0;
  d.feed({ kind: 'closed', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'gone', need_full: false }, 10);
  d.feed({ kind: 'resume_welcome', session: 's1', last_seq: 2, pending_empty: true }, 10);
  expect(of(d.log, 'send_op').map((x) => [x.seq, x.ack_now])).toEqual([[3, true], [4, true], [5, false]]);
  expect(acksUnasked(d.s)).toBe(false);
  // Going ALONE completes everything: nothing is outstanding.
  d.feed({ kind: 'peer_lost' });
  expect(acksUnasked(d.s)).toBe(true);
});

test('in-flight bound: ops wait in the queue beyond max_inflight_bytes; room is the queue below the bound; ACKs pump', () => {
  const d = new Driver().inSync();
  const per = opWeightBytes(w(0, 300)); // 364 bytes: two fit in 1000, the third waits
  for (let i = 1; i <= 8; i++) d.feed({ kind: 'enqueue', op: w(i, 300) });
  expect(of(d.log, 'send_op').map((x) => x.seq)).toEqual([1, 2]);
  expect(d.s.inflight_bytes).toBe(2 * per);
  expect(d.s.queued_op_bytes).toBe(6 * per);
  expect(hasRoom(d.s, CFG)).toBe(false);
  const fx = d.feed({ kind: 'ack', seq: 1 });
  expect(fx.map((x) => x.kind)).toEqual(['complete', 'send_op']);
  expect(of(fx, 'send_op')[0]!.seq).toBe(3);
  d.feed({ kind: 'ack', seq: 3 });
  d.feed({ kind: 'ack', seq: 5 });
  expect(hasRoom(d.s, CFG)).toBe(true); // 2 queued = 728 <= 1000
  // One op always goes when nothing is in flight, whatever its size.
  const big = new Driver().inSync();
  expect(of(big.feed({ kind: 'enqueue', op: w(1, 5000) }), 'send_op')).toHaveLength(1);
});

test('a request goes after every op queued before it; REQ without a connection fails; requests die with the connection', () => {
  const d = new Driver();
  expect(d.feed({ kind: 'request', frame_type: 'REQ', body: { kind: 'manifest' } })).toEqual([{ kind: 'request_failed', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'no connection for request' }]);
  d.inSync();
  for (let i = 1; i <= 4; i++) d.feed({ kind: 'enqueue', op: w(i, 300) }); // 3 and 4 wait
  const fx = d.feed({ kind: 'request', frame_type: 'REQ', body: { kind: 'sig' } });
  expect(fx.map((x) => x.kind)).toEqual(['request_queued']);
  const sent = d.feed({ kind: 'ack', seq: 2 });
  expect(sent.map((x) => x.kind)).toEqual(['complete', 'send_op', 'send_op', 'send_frame']);
  d.feed({ kind: 'request', frame_type: 'REQ', body: { kind: 'sig2' } });
  d.feed({ kind: 'enqueue', op: w(9, 900) }); // waits behind 3, 4
  const closed = d.feed({ kind: 'closed', need_full: false });
  expect(closed[0]).toEqual({ kind: 'fail_requests', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'connection closed' });
  expect(d.s.queue.every((it) => it.kind === 'op')).toBe(true);
});

test('resume within the window: ops SECOND has are completed, the rest sent again in order, STATE in_sync after them', () => {
  const d = new Driver().inSync();
  for (let i = 1; i <= 3; i++) d.feed({ kind: 'enqueue', op: w(i) });
  const closed = d.feed({ kind: 'closed', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'connection closed by peer', need_full: false }, 10);
  expect(closed.map((x) => x.kind)).toEqual(['fail_requests', 'status', 'open_channel']);
  expect(of(closed, 'status')[0]!.status).toEqual({ state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'connection closed by peer' });
  expect(phaseName(d.s)).toBe('resuming');
  expect(d.s.route).toBe('in_sync'); // ops keep being numbered while resuming
  expect(of(d.feed({ kind: 'enqueue', op: w(4) }), 'queued')[0]!.seq).toBe(4);
  expect(of(d.log.splice(0), 'send_op').map((x) => x.seq)).toEqual([1, 2, 3]); // 4 not sent: no connection
  d.feed({ kind: 'resume_failed' }, 5);
  const due = of(d.log, 'timer')[0]!;
  expect(due.delay_ms).toBe(CFG.resume_retry_ms);
  expect(d.kinds(due.event, 50)).toEqual(['open_channel']);
  const fx = d.feed({ kind: 'resume_welcome', session: 's1', last_seq: 1, pending_empty: true }, 100);
  expect(fx.map((x) => x.kind)).toEqual(['attach', 'complete', 'send_op', 'send_op', 'send_op', 'status', 'status', 'send_frame']);
  expect(of(fx, 'complete')[0]!.through_seq).toBe(1);
  expect(of(fx, 'send_op').map((x) => x.seq)).toEqual([2, 3, 4]);
  expect(of(fx, 'send_frame')[0]!.body).toEqual({ session: 's1', state: 'in_sync' });
  expect(phaseName(d.s)).toBe('in_sync');
});

test('resume with something pending starts a journal pass instead of saying in_sync', () => {
  const d = new Driver().inSync();
  d.feed({ kind: 'closed', need_full: false });
  const fx = d.feed({ kind: 'resume_welcome', session: 's1', last_seq: 0, pending_empty: false });
  expect(of(fx, 'start_reintegration')[0]).toMatchObject({ mode: 'journal' });
  expect(d.s.route).toBe('syncing');
});

test('no resume: SECOND lost ops (or another session), the window passed, an apply error, a pass running, need_full: ALONE with the ops journaled', () => {
  const lostOps = new Driver().inSync();
  for (let i = 1; i <= 3; i++) lostOps.feed({ kind: 'enqueue', op: w(i) });
  lostOps.feed({ kind: 'ack', seq: 1 });
  lostOps.feed({ kind: 'closed', need_full: false });
  const fx = lostOps.feed({ kind: 'resume_welcome', session: 's1', last_seq: 0, pending_empty: true });
  expect(fx.map((x) => x.kind)).toEqual(['discard_channel', 'go_alone', 'status', 'fence_wanted']);
  expect(of(fx, 'go_alone')[0]).toEqual({ kind: 'go_alone', ops: [w(2), w(3)], through_seq: 3, rewrite_journal: true });
  expect(of(fx, 'status')[0]!.status).toEqual({ state: 'alone', reason: 'connection lost' }); // closed without an error
  expect(lostOps.s.route).toBe('alone');
  expect(drainSeq(lostOps.s)).toBeUndefined();

  const other = new Driver().inSync();
  other.feed({ kind: 'closed', need_full: false });
  expect(other.kinds({ kind: 'resume_welcome', session: 'another', last_seq: 5, pending_empty: true })).toEqual(['discard_channel', 'go_alone', 'status', 'fence_wanted']);

  const late = new Driver().inSync();
  late.feed({ kind: 'enqueue', op: w(1) });
  late.feed({ kind: 'closed', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'socket error: ECONNRESET', need_full: false });
  late.feed({ kind: 'resume_failed' });
  const gen = late.s.gen;
  expect(late.kinds({ kind: 'resume_due', gen }, CFG.resume_window_ms)).toEqual(['go_alone', 'status', 'fence_wanted']);
  expect(of(late.log, 'status').at(-1)!.status).toEqual({ state: 'alone', reason: 'socket error: ECONNRESET', code: 'HAKIT_E_MIRROR_PEER_LOST' });

  const apply = new Driver().inSync();
  apply.feed({ kind: 'enqueue', op: w(1) });
  expect(apply.feed({ kind: 'peer_error', message: 'ENOSPC' })).toEqual([{ kind: 'close_channel', code: 'HAKIT_E_MIRROR_APPLY', message: 'ENOSPC' }]);
  expect(apply.kinds({ kind: 'closed', code: 'HAKIT_E_MIRROR_APPLY', message: 'ENOSPC', need_full: false })).toEqual(['fail_requests', 'status', 'go_alone', 'status', 'fence_wanted']);
  // ...and the next connection waits for the apply-error back-off.
  expect(apply.kinds({ kind: 'connect_tick' }, CFG.apply_retry_ms - 1)).toEqual([]);
  expect(apply.kinds({ kind: 'connect_tick' }, 1)).toEqual(['open_channel']);

  const syncing = new Driver();
  syncing.feed({ kind: 'start' });
  syncing.feed({ kind: 'connected', session: 's1', mode: 'journal' });
  expect(syncing.kinds({ kind: 'closed', need_full: false })).toEqual(['fail_requests', 'status', 'go_alone', 'status', 'fence_wanted']);

  const full = new Driver().inSync();
  expect(full.kinds({ kind: 'closed', need_full: true })).toContain('go_alone');
});

test('watchdog: silence and a stalled stream close the link; idle is pinged (link-watch absorbed)', () => {
  const d = new Driver().inSync();
  expect(d.kinds({ kind: 'tick' }, CFG.idle_ping_ms + 1)).toEqual(['ping']);
  // Pinged every idle_ping_ms whatever SECOND sends (its silence bound counts our frames only;
  // a manifest streaming to us leaves us nothing else to send), and not more often.
  d.feed({ kind: 'rx' }, CFG.idle_ping_ms / 2);
  expect(d.kinds({ kind: 'tick' }, 1)).toEqual([]);
  d.feed({ kind: 'rx' }, CFG.idle_ping_ms / 2);
  expect(d.kinds({ kind: 'tick' }, 1)).toEqual(['ping']);
  d.feed({ kind: 'rx' });
  d.feed({ kind: 'enqueue', op: w(1) }, 10);
  d.feed({ kind: 'rx' }, CFG.ack_timeout_ms - 5);
  expect(d.feed({ kind: 'tick' }, 10)).toEqual([{ kind: 'close_channel', code: 'HAKIT_E_MIRROR_PEER_LOST', message: `no acknowledgement for ${CFG.ack_timeout_ms} ms (stream stalled)` }]);
  const quiet = new Driver().inSync();
  expect(quiet.feed({ kind: 'tick' }, CFG.ack_timeout_ms + 1)).toEqual([{ kind: 'close_channel', code: 'HAKIT_E_MIRROR_PEER_LOST', message: `SECOND silent for ${CFG.ack_timeout_ms} ms` }]);
  // Not connected: no watchdog.
  expect(new Driver().kinds({ kind: 'tick' }, 1e6)).toEqual([]);
});

test('a failed connection is reported when its cause changes, with its code; again after a connection; not after stop', () => {
  const d = new Driver();
  d.feed({ kind: 'start' });
  const statuses = (fx: readonly LinkEffect[]) => of(fx, 'status').map((x) => x.status);
  // The shapes core/mirror/stream/channel.ts gives.
  const refused = { kind: 'connect_failed', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'mirror web -> 198.18.0.2:7911: connect failed: ECONNREFUSED' } as const;
  const silent = { kind: 'connect_failed', code: 'HAKIT_E_MIRROR_HANDSHAKE_TIMEOUT', message: 'mirror web -> 198.18.0.2:7911: no handshake within 5000 ms' } as const;
  const protection = { kind: 'connect_failed', code: 'HAKIT_E_MIRROR_PROTECTION', message: 'encrypt differs' } as const;
  // SECOND's hakitd (or its module) is not running: the ALONE reason says so.
  expect(statuses(d.feed(refused))).toEqual([{ state: 'alone', reason: 'cannot connect: mirror web -> 198.18.0.2:7911: connect failed: ECONNREFUSED', code: 'HAKIT_E_MIRROR_PEER_LOST' }]);
  d.feed({ kind: 'connect_tick' });
  expect(d.kinds(refused)).toEqual([]); // the same cause: said once
  d.feed({ kind: 'connect_tick' });
  // A refusal retrying cannot cure keeps its own words and code.
  expect(statuses(d.feed(protection))).toEqual([{ state: 'alone', reason: 'encrypt differs', code: 'HAKIT_E_MIRROR_PROTECTION' }]);
  d.feed({ kind: 'connect_tick' });
  expect(d.kinds(protection)).toEqual([]);
  // Causes that alternate (a SECOND in a crash loop) are each news: the reason is the current one.
  d.feed({ kind: 'connect_tick' });
  expect(d.kinds(silent)).toEqual(['status']);
  d.feed({ kind: 'connect_tick' });
  expect(d.kinds(refused)).toEqual(['status']);
  // Connected, then lost: the same cause is news again.
  d.feed({ kind: 'connect_tick' });
  d.feed({ kind: 'connected', session: 's1', mode: 'journal' });
  d.feed({ kind: 'closed', need_full: false });
  d.feed({ kind: 'resume_failed' }, 1e9);
  d.feed({ kind: 'connect_tick' }, 1e9);
  expect(d.kinds(refused, 1e9)).toEqual(['status']);
  // An attempt that fails after stop says nothing (nobody is ALONE for that reason).
  d.feed({ kind: 'connect_tick' });
  d.feed({ kind: 'stop' });
  expect(d.kinds(silent)).toEqual([]);
});

test('stop: the channel is dropped, every unacknowledged op is journaled, late opens are discarded', () => {
  const d = new Driver().inSync();
  d.feed({ kind: 'enqueue', op: w(1) });
  d.feed({ kind: 'enqueue', op: fsync() });
  const fx = d.feed({ kind: 'stop' });
  expect(fx.map((x) => x.kind)).toEqual(['drop_channel', 'fail_requests', 'go_alone', 'status', 'release_held']);
  expect(of(fx, 'go_alone')[0]).toEqual({ kind: 'go_alone', ops: [w(1), fsync()], through_seq: 2, rewrite_journal: true });
  expect(d.kinds({ kind: 'connect_tick' })).toEqual([]);
  expect(d.kinds({ kind: 'connected', session: 'x', mode: 'journal' })).toEqual(['discard_channel']);
  // Stopping while ALONE still rewrites the journal (clean state), without a status.
  const alone = new Driver();
  // Sync calls held for the fence fail: the sender stopped before SECOND was fenced.
  expect(alone.feed({ kind: 'stop' })).toEqual([
    { kind: 'go_alone', ops: [], through_seq: 0, rewrite_journal: true },
    { kind: 'release_held', error: { code: 'HAKIT_E_MIRROR_STOPPED', message: 'sender stopped before SECOND was fenced' } },
  ]);
});

test('internal error: link dropped, ops pending without a journal rewrite, ALONE reported with the code', () => {
  const d = new Driver().inSync();
  d.feed({ kind: 'enqueue', op: w(1) });
  const fx = d.feed({ kind: 'internal_error', code: 'HAKIT_E_MIRROR_JOURNAL', message: 'ENOSPC' });
  expect(fx.map((x) => x.kind)).toEqual(['drop_channel', 'fail_requests', 'go_alone', 'status', 'fence_wanted']);
  expect(of(fx, 'go_alone')[0]!.rewrite_journal).toBe(false);
  expect(of(fx, 'status')[0]!.status).toEqual({ state: 'alone', reason: 'ENOSPC', code: 'HAKIT_E_MIRROR_JOURNAL' });
});

test('a refused fence: held calls fail with its code, later ones fail at once; the fence holding, or a new loss, ends the refusal', () => {
  const d = new Driver();
  d.feed({ kind: 'start' });
  const refused = { kind: 'fence_refused', code: 'HAKIT_E_MIRROR_FENCE_REFUSED', message: 'the peer serves (ALONE)' } as const;
  expect(d.feed(refused)).toEqual([{ kind: 'release_held', error: { code: 'HAKIT_E_MIRROR_FENCE_REFUSED', message: 'the peer serves (ALONE)' } }]);
  expect(fenceRefusal(d.s)).toEqual({ code: 'HAKIT_E_MIRROR_FENCE_REFUSED', message: 'the peer serves (ALONE)' });
  expect(isFenced(d.s)).toBe(false);
  // Granted after all (the peer marked its copy out of date): sync calls return again.
  expect(d.feed({ kind: 'fenced' })).toEqual([{ kind: 'release_held' }]);
  expect(fenceRefusal(d.s)).toBeUndefined();
  expect(d.feed(refused)).toEqual([]); // too late: the fence holds
  // A new session lost again: a new fence is wanted, the old refusal no longer stands.
  d.feed({ kind: 'connected', session: 's1', mode: 'journal' });
  d.feed({ kind: 'in_sync', gen: d.s.gen });
  d.feed({ kind: 'closed', need_full: false });
  d.feed({ kind: 'resume_due', gen: d.s.gen }, CFG.resume_window_ms);
  expect(isFenced(d.s)).toBe(false);
  expect(fenceRefusal(d.s)).toBeUndefined();
  d.feed({ kind: 'stop' });
  expect(d.feed(refused)).toEqual([]); // stopped: held calls already failed
});

test('the fence: wanted at start and whenever the link leaves SECOND behind; held until the module layer, an ACK of a new session, or in_sync', () => {
  const d = new Driver();
  expect(isFenced(d.s)).toBe(false);
  d.feed({ kind: 'start' });
  expect(d.feed({ kind: 'fenced' })).toEqual([{ kind: 'release_held' }]);
  expect(isFenced(d.s)).toBe(true);
  expect(d.feed({ kind: 'fenced' })).toEqual([]); // once
  // A session: SECOND's first ACK follows its STATE syncing (its copy durably incomplete).
  d.feed({ kind: 'connected', session: 's1', mode: 'journal' });
  d.feed({ kind: 'in_sync', gen: d.s.gen });
  d.feed({ kind: 'enqueue', op: w(1) });
  // Lost beyond resume: PRIM writes without SECOND from now; the loss is reported first.
  d.feed({ kind: 'closed', code: 'HAKIT_E_MIRROR_APPLY', message: 'ENOSPC', need_full: false });
  expect(isFenced(d.s)).toBe(false);
  expect(d.log.map((x) => x.kind).slice(-3)).toEqual(['go_alone', 'status', 'fence_wanted']);
  // SECOND's answer to a new session's STATE syncing fences (not an ACK: with async="second"
  // ops are acknowledged on receipt, before that frame is handled); so does in_sync.
  d.feed({ kind: 'connect_tick' }, CFG.apply_retry_ms);
  const opened = d.feed({ kind: 'connected', session: 's2', mode: 'journal' });
  const stateId = of(opened, 'send_frame')[0]!.id;
  expect(isFenced(d.s)).toBe(false);
  d.feed({ kind: 'enqueue', op: w(2) });
  expect(d.feed({ kind: 'ack', seq: 2 }).map((x) => x.kind)).toEqual(['complete']);
  expect(d.feed({ kind: 'rx', resp_id: stateId + 1 })).toEqual([]);
  expect(isFenced(d.s)).toBe(false);
  expect(d.feed({ kind: 'rx', resp_id: stateId })).toEqual([{ kind: 'release_held' }]);
  expect(isFenced(d.s)).toBe(true);
  const viaSync = new Driver();
  viaSync.feed({ kind: 'start' });
  viaSync.feed({ kind: 'connected', session: 's1', mode: 'journal' });
  expect(viaSync.kinds({ kind: 'in_sync', gen: viaSync.s.gen })).toEqual(['release_held', 'status']);
  // A transient loss resumed within the window leaves the fence as it was.
  viaSync.feed({ kind: 'closed', need_full: false });
  viaSync.feed({ kind: 'resume_welcome', session: 's1', last_seq: 0, pending_empty: true });
  expect(isFenced(viaSync.s)).toBe(true);
  expect(viaSync.log.filter((x) => x.kind === 'fence_wanted')).toHaveLength(1); // the start's only
});

test('peer_lost: the module layer lost SECOND by the heartbeats: the session is given up at once, unacknowledged ops journaled', () => {
  const d = new Driver().inSync();
  d.feed({ kind: 'enqueue', op: w(1) });
  d.feed({ kind: 'enqueue', op: fsync() });
  const fx = d.feed({ kind: 'peer_lost' });
  expect(fx.map((x) => x.kind)).toEqual(['drop_channel', 'fail_requests', 'go_alone', 'status', 'fence_wanted']);
  expect(of(fx, 'go_alone')[0]).toEqual({ kind: 'go_alone', ops: [w(1), fsync()], through_seq: 2, rewrite_journal: true });
  expect(of(fx, 'status')[0]!.status).toEqual({ state: 'alone', reason: 'SECOND lost by the heartbeats', code: 'HAKIT_E_MIRROR_PEER_LOST' });
  expect(phaseName(d.s)).toBe('alone');
  expect(d.feed({ kind: 'peer_lost' })).toEqual([]); // ALONE already
  // While resuming: no channel to drop; ALONE at once instead of at the end of the window.
  const r = new Driver().inSync();
  r.feed({ kind: 'closed', need_full: false });
  expect(r.kinds({ kind: 'peer_lost' })).toEqual(['fail_requests', 'go_alone', 'status', 'fence_wanted']);
});

test('fullsync: connected, the link is closed for a new pass; not connected, a connection is tried at once', () => {
  const d = new Driver().inSync();
  expect(d.feed({ kind: 'fullsync' })).toEqual([{ kind: 'close_channel', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'full sync requested' }]);
  const a = new Driver();
  a.feed({ kind: 'start' });
  a.feed({ kind: 'connect_failed', message: 'x' });
  expect(a.kinds({ kind: 'fullsync' })).toEqual(['open_channel']);
});

test('kick runs another pass only when in sync; pass_again and pass_failed only for the current link', () => {
  const d = new Driver().inSync();
  const gen = d.s.gen;
  expect(of(d.feed({ kind: 'kick', mode: 'full' }), 'start_reintegration')[0]).toEqual({ kind: 'start_reintegration', mode: 'full', gen });
  expect(d.kinds({ kind: 'kick', mode: 'journal' })).toEqual(['send_frame']); // a pass runs already (SECOND told again, below)
  expect(d.kinds({ kind: 'pass_again', gen: gen - 1 })).toEqual([]);
  expect(d.kinds({ kind: 'pass_again', gen })).toEqual(['send_frame', 'start_reintegration']);
  expect(d.kinds({ kind: 'pass_failed', gen })).toEqual(['close_channel']);
  expect(isCurrent(d.s, gen)).toBe(true);
  d.feed({ kind: 'closed', need_full: false });
  expect(isCurrent(d.s, gen)).toBe(false);
});

// A pass on a live connection leaves SECOND's copy behind (pure/link.ts leaveBehind): as at
// connect, STATE syncing goes first and sync calls are held until SECOND answers it.
test('a pass started in sync, or more pending during one, first tells SECOND its copy is incomplete', () => {
  const d = new Driver().inSync();
  expect(isFenced(d.s)).toBe(true);
  const fx = d.feed({ kind: 'kick', mode: 'journal' });
  expect(fx.map((x) => x.kind)).toEqual(['send_frame', 'start_reintegration']);
  const state = of(fx, 'send_frame')[0]!;
  expect(state).toMatchObject({ frame_type: 'STATE', body: { session: 's1', state: 'syncing' } });
  expect(isFenced(d.s)).toBe(false);
  // SECOND's answer (its copy durably incomplete) puts the fence back: held calls return.
  expect(d.kinds({ kind: 'rx', resp_id: state.id })).toEqual(['release_held']);
  expect(isFenced(d.s)).toBe(true);
  // Something became pending while the pass runs (it may have told SECOND in_sync already).
  const again = d.feed({ kind: 'kick', mode: 'journal' });
  expect(again.map((x) => x.kind)).toEqual(['send_frame']);
  expect(isFenced(d.s)).toBe(false);
  expect(d.kinds({ kind: 'rx', resp_id: of(again, 'send_frame')[0]!.id })).toEqual(['release_held']);
  // A full comparison owed once a journal pass ends (sender.ts): the next pass walks both trees.
  const full = d.feed({ kind: 'pass_again', gen: d.s.gen, mode: 'full' });
  expect(full.map((x) => x.kind)).toEqual(['send_frame', 'start_reintegration']);
  expect(of(full, 'start_reintegration')[0]).toMatchObject({ mode: 'full' });
  expect(phaseName(d.s)).toBe('walking');
  // Not connected: nothing to tell, the fence is the module layer's (go_alone asked for it).
  d.feed({ kind: 'closed', need_full: false });
  expect(d.kinds({ kind: 'kick', mode: 'journal' })).toEqual([]);
});

// The invariant the durability contract rests on, over random histories: an op is completed
// once only, in seq order, and never before SECOND acknowledged it or it went to the journal
// (go_alone); everything queued is sent, in order, at most the bound in flight.
test('random histories: completions are in order, each op once, only after an ACK covering it or go_alone', () => {
  const ev = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 600 }).map((n): LinkEvent => ({ kind: 'enqueue', op: w(n, n) })) },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }).map((k): LinkEvent => ({ kind: 'ack', seq: k })) }, // relative to done_seq below
    { weight: 1, arbitrary: fc.constant<LinkEvent>({ kind: 'closed', need_full: false }) },
    { weight: 1, arbitrary: fc.constant<LinkEvent>({ kind: 'resume_failed' }) },
    { weight: 1, arbitrary: fc.integer({ min: -2, max: 3 }).map((k): LinkEvent => ({ kind: 'resume_welcome', session: 's1', last_seq: k, pending_empty: true })) },
    { weight: 1, arbitrary: fc.constant<LinkEvent>({ kind: 'connect_tick' }) },
    { weight: 1, arbitrary: fc.constant<LinkEvent>({ kind: 'connected', session: 's1', mode: 'journal' }) },
    { weight: 1, arbitrary: fc.constant<LinkEvent>({ kind: 'in_sync', gen: -1 }) },
    { weight: 1, arbitrary: fc.constant<LinkEvent>({ kind: 'tick' }) },
  );
  fc.assert(fc.property(fc.array(fc.tuple(ev, fc.integer({ min: 0, max: 700 })), { maxLength: 120 }), (steps) => {
    const d = new Driver().inSync();
    let completed = 0;
    let acked = 0; // highest seq SECOND acknowledged (the model of SECOND)
    let sentUpTo = 0;
    const sentOnLink: number[] = [];
    for (const [e0, dt] of steps) {
      let e = e0;
      // ACKs and resumes relative to what was sent, as a real SECOND would answer.
      if (e.kind === 'ack') e = { kind: 'ack', seq: Math.min(sentUpTo, d.s.done_seq + e.seq) };
      if (e.kind === 'resume_welcome') e = { ...e, last_seq: Math.min(sentUpTo, Math.max(d.s.done_seq + e.last_seq, 0)) };
      if (e.kind === 'in_sync') e = { kind: 'in_sync', gen: d.s.gen };
      const before = cloneLinkState(d.s);
      for (const fx of d.feed(e, dt)) {
        if (fx.kind === 'send_op') {
          sentOnLink.push(fx.seq);
          sentUpTo = Math.max(sentUpTo, fx.seq);
        }
        if (fx.kind === 'complete') {
          expect(e.kind === 'ack' || e.kind === 'resume_welcome').toBe(true);
          const ackSeq = e.kind === 'ack' ? e.seq : (e as { last_seq: number }).last_seq;
          expect(fx.through_seq).toBeLessThanOrEqual(ackSeq);
          expect(fx.through_seq).toBeGreaterThan(completed);
          acked = Math.max(acked, ackSeq);
          completed = fx.through_seq;
        }
        if (fx.kind === 'go_alone') {
          expect(fx.through_seq).toBeGreaterThanOrEqual(completed);
          expect(fx.ops.length).toBe(before.inflight.length + before.queue.filter((q) => q.kind === 'op').length);
          completed = fx.through_seq;
        }
      }
      expect(d.s.inflight_bytes).toBe(d.s.inflight.reduce((n, it) => n + it.bytes, 0));
      expect(d.s.queued_op_bytes).toBe(d.s.queue.reduce((n, it) => n + (it.kind === 'op' ? it.bytes : 0), 0));
      if (d.s.inflight.length > 1) expect(d.s.inflight_bytes).toBeLessThanOrEqual(CFG.max_inflight_bytes);
      expect(d.s.done_seq).toBe(completed);
      const live = [...d.s.inflight.map((it) => it.seq), ...d.s.queue.flatMap((it) => (it.kind === 'op' ? [it.seq] : []))];
      expect(live).toEqual(live.slice().sort((a, b) => a - b));
      if (live.length > 0) expect(live[0]).toBe(completed + 1);
      if (d.s.route === 'alone') expect(live).toEqual([]);
    }
    expect(acked).toBeLessThanOrEqual(sentUpTo);
  }), { numRuns: 400 });
});

test('only elapsed monotonic time matters: a history shifted by any offset gives the same effects', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 30 }), fc.integer({ min: -3_600_000, max: 3_600_000 }), (gaps, offset) => {
    const run = (t0: number): string[] => {
      const d = new Driver();
      d.now = t0;
      d.inSync();
      const out: string[] = [];
      gaps.forEach((g, i) => {
        const e: LinkEvent = i % 3 === 0 ? { kind: 'enqueue', op: w(i) } : i % 3 === 1 ? { kind: 'tick' } : { kind: 'ack', seq: i - 1 };
        out.push(...d.kinds(e, g));
      });
      return out;
    };
    expect(run(10_000_000 + offset)).toEqual(run(10_000_000));
  }), { numRuns: 200 });
});
