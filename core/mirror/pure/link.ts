// The replication link of one mirror module (PRIM side) as a pure machine:
//
//   linkStep(state, event, now_ms, cfg) -> { state, effects }
//
// It owns every decision of the link: its phase, sequence numbers, the outbox and what is in
// flight (bytes against max_inflight_bytes, and the room a bulk producer may fill), which ops
// a cumulative ACK completes, when to connect, whether a broken connection is resumed (and
// what is sent again) or PRIM goes ALONE (and which ops then go to the journal), the watchdog
// (pure/link-watch.ts, absorbed here) and the status reports. It does no I/O, reads no clock
// and starts no timer: time is `now_ms` (the runner's monotonic Clock port), timers are
// events the runner feeds (`tick`, `connect_tick`) or asks for (effect `timer`).
//
// The runner (core/mirror/sender.ts; the data-path simulation in test/sim/datapath/) feeds:
//   start / stop                  the module links (connecting begins) / stops
//   tick                          every max(50, ack_timeout_ms / 4) ms: watchdog (ping, close)
//   connect_tick                  every reconnect_ms: connect when ALONE and allowed
//   connected {session, mode}     an `open_channel` purpose 'connect' gave a channel and its
//                                 WELCOME; the runner chose the session id and the pass mode
//   connect_failed {code,message} that open failed (or the WELCOME was bad)
//   resume_welcome {session, last_seq, pending_empty}   an `open_channel` 'resume' succeeded
//   resume_failed                 that open failed
//   enqueue {op, ack_now?}        an op for SECOND (answered by `queued` or `record`);
//                                 ack_now: SECOND is to acknowledge it at once (default: every
//                                 op but a write; see "Barrier-free sync calls" below)
//   request {frame_type, body}    a REQ/STATE frame after every op queued before it
//                                 (answered by `request_queued` or `request_failed`)
//   ack {seq} / rx {resp_id?} / peer_error / bad_frame   frames from SECOND (rx: any other
//                                 valid frame; resp_id: a RESP's request id)
//   closed {code, message, need_full}   the attached channel closed (need_full: the runner's
//                                 journal cannot describe SECOND's copy: no resume)
//   internal_error {code,message} the runner's own bookkeeping failed (journal unwritable)
//   fullsync / kick {mode} / names_reconciled, pass_again, pass_failed, in_sync {gen}:
//                                 the runner's re-integration pass reports (see LinkEvent)
//   timer-driven events it asked for with effect `timer` (resume_due)
//   fenced                        the module layer knows SECOND cannot take over with what
//                                 it lacks (it marked its copy out of date, or is lost)
//   fence_refused {code, message} the module layer knows the fence cannot hold (this node
//                                 stops while the peer may take over, or serves, without what
//                                 it lacks): held sync calls fail, and later ones at once, until
//                                 the fence holds or the link leaves SECOND behind again
//   peer_lost                     the module layer lost SECOND by the heartbeats: give the
//                                 session up now instead of at the ack timeout
//
// Effects, performed by the runner in order. An event the runner feeds while performing them
// (a channel's close reported at once, a pass's first ops) is stepped after the last one
// (run to completion), so frames leave in the order the machine chose.
// Effects:
//   open_channel {purpose, timeout_ms}   connect to SECOND, read its WELCOME, feed the result
//   attach            the channel just opened is the link's now (frames are fed as events)
//   discard_channel   close the channel just opened, never attached (no event follows)
//   close_channel     close the attached channel; its `closed` event comes back
//   drop_channel      close and detach the attached channel; no `closed` event is expected
//   send_op {seq, op, ack_now} / send_frame {frame_type, id, body} / ping    write to the channel
//   queued {seq}      the enqueued op has this seq; its caller waits for `complete`
//   record {op}       ALONE: append the op to the journal, record it pending, return at once
//   complete {through_seq}   every op with seq <= through_seq is done: its caller returns
//   go_alone {ops, through_seq, rewrite_journal}   these unacknowledged ops (in seq order)
//                     become pending; rewrite the journal (when asked), then complete every op
//                     through through_seq (also when the rewrite failed: their data is on PRIM)
//   fail_requests     reject every request still waiting for its response frames
//   request_queued {id} / request_failed {code, message}
//   start_reintegration {mode, gen}   run a pass for link generation `gen`
//   timer {delay_ms, event}   feed `event` after delay_ms
//   status {status}   report (SenderStatus)
//   fence_wanted      the link has left SECOND behind: ask the module layer for `fenced`
//   release_held {error?}   the fence holds: sync calls held for it return now (error: the
//                     link stopped first, or the fence was refused; they fail)
//
// Acknowledged: SECOND applies ops strictly in seq order and acknowledges cumulatively, so an
// ACK of seq n completes every op with seq <= n. An fsync-class op (fsync, fdatasync, O_SYNC /
// O_DSYNC write, msync, fsync of a directory) is acknowledged only once SECOND acknowledged it
// and therefore every earlier seq; `complete` is never emitted for an op whose predecessors
// are not complete. Ops that become pending (go_alone) complete only after the journal holds
// them (docs/mirror.md, "Durability contract": a sync call returns while ALONE with PRIM's
// local call only, the journal then says what SECOND lacks).
//
// The fence (docs/mirror.md, "The ALONE fence"): once PRIM writes without SECOND, SECOND's
// copy lacks those writes but may still believe itself complete until it hears otherwise;
// were PRIM to die in that window, SECOND would take over without them. So from the moment
// the link leaves SECOND behind (and from start, until told otherwise) `fenced` is false and
// every sync call that would return on PRIM's local call alone is held by the runner (like
// DRBD freezing I/O until its fence-peer handler returns). It becomes true when the module
// layer feeds `fenced` (SECOND marked its copy out of date, or was declared lost), when SECOND
// answers the session's first frame, STATE syncing (it answers once its copy is durably marked
// incomplete; an ACK would not do: with async="second" ops are acknowledged on receipt, before
// that frame is handled), or at in_sync.
//
// Barrier-free sync calls (docs/mirror.md, "A sync call without a barrier"): where SECOND's
// fsync op only orders (async="second", or "none" without sync_secondary), a sync call needs no
// op of its own when SECOND will acknowledge, unasked and at once, everything queued or in
// flight: the cumulative ACK of the last of them means what the fsync op's would. SECOND
// delays only the ACKs of writes not flagged ack_now (pure/ack-plan.ts), so the machine keeps
// the highest seq of such a "lazy" op; `acksUnasked` says none of them is still outstanding.
//
// Ownership: the state's queues are large at full speed (tens of thousands of ops), so
// linkStep updates the given state in place and returns it; a caller that keeps an earlier
// state (a test, the simulation's replay) copies it first with cloneLinkState.
import { type ErrorCode } from '../../errors/catalogue';
import { opWeightBytes, type MirrorOp } from './ops';
import { type LinkPhase } from './route';
import { type ReintegrationChoice } from './activity';
import { INITIAL_LINK_TIMES, mayConnect, watchStep, type LinkTimes, type LinkWatchConfig, type WatchEvent } from './link-watch';

export type { LinkPhase } from './route';
export type { ReintegrationChoice } from './activity';

/** Defaults; each is a named bound (docs/architecture.md, rule 8). */
export const LINK_DEFAULTS = {
  max_inflight_bytes: 32 * 1024 * 1024,
  ack_timeout_ms: 5000,
  idle_ping_ms: 1000,
  reconnect_ms: 1000,
  resume_window_ms: 1000,
  resume_retry_ms: 50,
  welcome_timeout_ms: 5000,
  /** After SECOND failed to apply an op (disk full...), reconnecting waits this long,
   *  doubling per failure up to apply_retry_max_ms; a fullsync retries at once. */
  apply_retry_ms: 1000,
  apply_retry_max_ms: 60_000,
} as const;

export interface LinkConfig extends LinkWatchConfig {
  /** In-flight bound (bytes of ops sent and not acknowledged), and the outbox's room. */
  readonly max_inflight_bytes: number;
  readonly reconnect_ms: number;
  /** A broken in-sync connection is resumed by seq within this window, else PRIM goes ALONE. */
  readonly resume_window_ms: number;
  readonly resume_retry_ms: number;
  readonly welcome_timeout_ms: number;
}

/** The connection: none, an attempt running, attached and sending, or being resumed. */
export type LinkConn = 'none' | 'connecting' | 'up' | 'resuming';

/** The link's state named as the issue and `state -v` speak of it. */
export type LinkPhaseName = 'alone' | 'connecting' | 'resuming' | 'walking' | 'syncing' | 'in_sync';

export type SenderStatus =
  | { readonly state: 'alone'; readonly reason: string; readonly code?: string }
  | { readonly state: 'connected'; readonly peer: string }
  | { readonly state: 'syncing'; readonly mode: ReintegrationChoice; readonly shipped_bytes: number; readonly pending_bytes: number; readonly pending_files: number; readonly rate_bytes_per_s: number; readonly eta_s: number | null }
  | { readonly state: 'in_sync' }
  | { readonly state: 'lost'; readonly code: string; readonly message: string };

export type FrameKind = 'REQ' | 'STATE';

export interface QueuedOp { readonly kind: 'op'; readonly seq: number; readonly op: MirrorOp; readonly bytes: number; readonly ack_now: boolean }
export interface QueuedFrame { readonly kind: 'frame'; readonly frame_type: FrameKind; readonly id: number; readonly body: Readonly<Record<string, unknown>> }
export type QueuedItem = QueuedOp | QueuedFrame;

export interface LinkState {
  /** What routeOp sees (pure/route.ts): alone, walking, syncing, in_sync. */
  route: LinkPhase;
  conn: LinkConn;
  /** `start` was fed (the runner wants connections). */
  linking: boolean;
  stopped: boolean;
  /** Incremented at every connection change: async work started for one compares it. */
  gen: number;
  /** "host:port" of SECOND, for the connected status. */
  readonly peer: string;
  session: string;
  next_seq: number;
  next_req: number;
  /** Every op with seq <= this is complete (acknowledged, or handed to go_alone). */
  done_seq: number;
  /** The highest seq of an op SECOND may acknowledge late (a write without ack_now). */
  lazy_seq: number;
  /** Not sent yet, in order (ops and frames). */
  readonly queue: QueuedItem[];
  queued_op_bytes: number;
  /** Sent, not acknowledged, in seq order. */
  readonly inflight: QueuedOp[];
  inflight_bytes: number;
  times: LinkTimes;
  /** Resuming: give up (go ALONE) at this time. */
  resume_deadline_ms: number;
  /** Why the connection broke (the ALONE reason if the resume fails). */
  lost: { readonly code: ErrorCode | undefined; readonly message: string } | undefined;
  /** Cause (code and message) of the last failed connection attempt since the last
   *  connection: a cause is reported when it changes, so that an ALONE PRIM says why it
   *  stays ALONE now without a status at every attempt. */
  last_connect_failure: string | undefined;
  /** SECOND cannot take over with a copy lacking what PRIM wrote without it (see the head). */
  fenced: boolean;
  /** The module layer refused the fence (fence_refused): sync calls fail with this until the
   *  fence holds or the link leaves SECOND behind again. */
  fence_refusal: { readonly code: ErrorCode; readonly message: string } | undefined;
  /** The id of this session's STATE syncing frame until SECOND answers it. */
  syncing_req: number | undefined;
}

export type LinkEvent =
  | { readonly kind: 'start' }
  | { readonly kind: 'stop' }
  | { readonly kind: 'tick' }
  | { readonly kind: 'connect_tick' }
  | { readonly kind: 'connected'; readonly session: string; readonly mode: ReintegrationChoice }
  | { readonly kind: 'connect_failed'; readonly code?: string; readonly message: string }
  | { readonly kind: 'resume_welcome'; readonly session: unknown; readonly last_seq: number; readonly pending_empty: boolean }
  | { readonly kind: 'resume_failed' }
  /** Asked for with a `timer` effect while resuming (gen: the resume it belongs to). */
  | { readonly kind: 'resume_due'; readonly gen: number }
  | { readonly kind: 'enqueue'; readonly op: MirrorOp; readonly ack_now?: boolean }
  | { readonly kind: 'request'; readonly frame_type: FrameKind; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: 'ack'; readonly seq: number }
  /** Any other valid frame from SECOND (PONG, RESP: `resp_id` is the request it answers). */
  | { readonly kind: 'rx'; readonly resp_id?: number }
  /** SECOND could not apply an op (ERROR frame). */
  | { readonly kind: 'peer_error'; readonly message: string }
  | { readonly kind: 'bad_frame'; readonly frame_type: number }
  | { readonly kind: 'closed'; readonly code?: ErrorCode; readonly message?: string; readonly need_full: boolean }
  | { readonly kind: 'internal_error'; readonly code: ErrorCode; readonly message: string }
  /** An administrator asked for a full comparison: a new pass at once. */
  | { readonly kind: 'fullsync' }
  /** Something became pending while in sync (an import, a local write failure): another pass. */
  | { readonly kind: 'kick'; readonly mode: ReintegrationChoice }
  /** The pass of link generation `gen` listed both trees: namespace ops may ship. */
  | { readonly kind: 'names_reconciled'; readonly gen: number }
  /** The pass of `gen` is complete, SECOND told, nothing pending: in sync. */
  | { readonly kind: 'in_sync'; readonly gen: number }
  /** The pass of `gen` failed with the link up (SECOND could not answer): start over. */
  | { readonly kind: 'pass_failed'; readonly gen: number }
  /** The pass of `gen` ended but something became pending meanwhile: another journal pass. */
  /** `mode` 'full': a full comparison became owed during a journal pass (default 'journal'). */
  | { readonly kind: 'pass_again'; readonly gen: number; readonly mode?: ReintegrationChoice }
  /** The module layer: SECOND's copy is marked out of date, or SECOND is lost. */
  | { readonly kind: 'fenced' }
  /** The module layer: the fence cannot hold (see the head). */
  | { readonly kind: 'fence_refused'; readonly code: ErrorCode; readonly message: string }
  /** The module layer: SECOND is lost by the heartbeats. */
  | { readonly kind: 'peer_lost' };

export type LinkEffect =
  | { readonly kind: 'open_channel'; readonly purpose: 'connect' | 'resume'; readonly timeout_ms: number }
  | { readonly kind: 'attach' }
  | { readonly kind: 'discard_channel' }
  | { readonly kind: 'close_channel'; readonly code: ErrorCode; readonly message: string }
  | { readonly kind: 'drop_channel'; readonly code: ErrorCode; readonly message: string }
  | { readonly kind: 'send_op'; readonly seq: number; readonly op: MirrorOp; readonly ack_now: boolean }
  | { readonly kind: 'send_frame'; readonly frame_type: FrameKind; readonly id: number; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: 'ping' }
  | { readonly kind: 'queued'; readonly seq: number }
  | { readonly kind: 'record'; readonly op: MirrorOp }
  | { readonly kind: 'complete'; readonly through_seq: number }
  | { readonly kind: 'go_alone'; readonly ops: readonly MirrorOp[]; readonly through_seq: number; readonly rewrite_journal: boolean }
  | { readonly kind: 'fail_requests'; readonly code: ErrorCode; readonly message: string }
  | { readonly kind: 'request_queued'; readonly id: number }
  | { readonly kind: 'request_failed'; readonly code: ErrorCode; readonly message: string }
  | { readonly kind: 'start_reintegration'; readonly mode: ReintegrationChoice; readonly gen: number }
  | { readonly kind: 'timer'; readonly delay_ms: number; readonly event: LinkEvent }
  | { readonly kind: 'status'; readonly status: SenderStatus }
  | { readonly kind: 'fence_wanted' }
  | { readonly kind: 'release_held'; readonly error?: { readonly code: ErrorCode; readonly message: string } };

export interface LinkStepResult {
  readonly state: LinkState;
  readonly effects: readonly LinkEffect[];
}

export function initialLinkState(opts: { readonly peer: string }): LinkState {
  return {
    route: 'alone', conn: 'none', linking: false, stopped: false, gen: 0, peer: opts.peer, session: '',
    next_seq: 1, next_req: 1, done_seq: 0, lazy_seq: 0, queue: [], queued_op_bytes: 0, inflight: [], inflight_bytes: 0,
    times: INITIAL_LINK_TIMES, resume_deadline_ms: 0, lost: undefined, last_connect_failure: undefined,
    fenced: false, fence_refusal: undefined, syncing_req: undefined,
  };
}

/** A copy that later steps do not change (the ops themselves are shared: they are immutable). */
export function cloneLinkState(s: LinkState): LinkState {
  return { ...s, queue: s.queue.slice(), inflight: s.inflight.slice() };
}

const PEER_LOST: ErrorCode = 'HAKIT_E_MIRROR_PEER_LOST';
const APPLY: ErrorCode = 'HAKIT_E_MIRROR_APPLY';

export function linkStep(s: LinkState, e: LinkEvent, now_ms: number, cfg: LinkConfig = LINK_DEFAULTS): LinkStepResult {
  const fx: LinkEffect[] = [];
  const watch = (w: WatchEvent): void => {
    const r = watchStep(s.times, w, now_ms, cfg);
    s.times = r.state;
    for (const x of r.effects) fx.push(x.kind === 'ping' ? { kind: 'ping' } : { kind: 'close_channel', code: x.code, message: x.message });
  };
  switch (e.kind) {
    case 'start':
      if (s.stopped) break;
      if (!s.linking && !s.fenced) fx.push({ kind: 'fence_wanted' });
      s.linking = true;
      tryConnect(s, now_ms, cfg, fx);
      break;
    case 'connect_tick':
      tryConnect(s, now_ms, cfg, fx);
      break;
    case 'tick':
      if (s.conn === 'up') watch({ kind: 'tick', in_flight_ops: s.inflight.length });
      break;
    case 'stop':
      if (s.stopped) break;
      s.stopped = true;
      if (s.conn === 'up') fx.push({ kind: 'drop_channel', code: 'HAKIT_E_MIRROR_STOPPED', message: 'sender stopped' }, { kind: 'fail_requests', code: 'HAKIT_E_MIRROR_STOPPED', message: 'sender stopped' });
      goAlone(s, 'stopped', undefined, true, fx);
      fx.push({ kind: 'release_held', error: { code: 'HAKIT_E_MIRROR_STOPPED', message: 'sender stopped before SECOND was fenced' } });
      break;
    case 'connected':
      if (s.conn !== 'connecting' || s.stopped) { fx.push({ kind: 'discard_channel' }); if (s.conn === 'connecting') s.conn = 'none'; break; }
      attach(s, now_ms, cfg, fx);
      s.last_connect_failure = undefined;
      s.session = e.session;
      fx.push({ kind: 'status', status: { state: 'connected', peer: s.peer } });
      s.syncing_req = queueFrame(s, 'STATE', { session: s.session, first_seq: s.next_seq, state: 'syncing' });
      pump(s, now_ms, cfg, fx);
      startPass(s, e.mode, fx);
      break;
    case 'connect_failed': {
      if (s.conn === 'connecting') s.conn = 'none';
      if (s.stopped) break;
      // Said when the cause changes, so that PRIM's state shows why it stays ALONE (SECOND's
      // hakitd or module not running, its node down, a refusal retrying cannot cure: the
      // nodes' <rfs encrypt> differ, a wrong key) without a status at every attempt.
      const cause = `${e.code ?? ''} ${e.message}`;
      if (cause !== s.last_connect_failure) {
        s.last_connect_failure = cause;
        const refusal = e.code === 'HAKIT_E_MIRROR_PROTECTION' || e.code === 'HAKIT_E_MIRROR_AUTH';
        const reason = refusal ? e.message : `cannot connect: ${e.message}`;
        fx.push({ kind: 'status', status: e.code !== undefined ? { state: 'alone', reason, code: e.code } : { state: 'alone', reason } });
      }
      break;
    }
    case 'resume_welcome': {
      if (s.conn !== 'resuming' || s.stopped) { fx.push({ kind: 'discard_channel' }); break; }
      const first = s.inflight[0]?.seq ?? firstQueuedSeq(s) ?? s.next_seq;
      if (e.session !== s.session || e.last_seq < first - 1) {
        // SECOND restarted (another session) or lost ops we no longer hold: not resumable.
        fx.push({ kind: 'discard_channel' });
        goAlone(s, s.lost?.message ?? 'connection lost', s.lost?.code, true, fx);
        break;
      }
      attach(s, now_ms, cfg, fx);
      completeThrough(s, e.last_seq, now_ms, cfg, fx);
      // Everything still in flight was lost with the old socket: send it again, first.
      const again = s.inflight.splice(0);
      for (const it of again) s.queued_op_bytes += it.bytes;
      s.queue.unshift(...again);
      s.inflight_bytes = 0;
      pump(s, now_ms, cfg, fx);
      fx.push({ kind: 'status', status: { state: 'connected', peer: s.peer } }, { kind: 'status', status: { state: 'in_sync' } });
      // A write that failed locally during the outage left a range to correct (that pass ends
      // with STATE in_sync); otherwise say so now, after the resent ops, so that SECOND's
      // owner learns the session holds again (it saw the old socket close).
      if (e.pending_empty) {
        queueFrame(s, 'STATE', { session: s.session, state: 'in_sync' });
        pump(s, now_ms, cfg, fx);
      } else {
        startPass(s, 'journal', fx);
      }
      break;
    }
    case 'resume_failed':
      if (s.conn !== 'resuming') break;
      fx.push({ kind: 'timer', delay_ms: cfg.resume_retry_ms, event: { kind: 'resume_due', gen: s.gen } });
      break;
    case 'resume_due':
      if (s.conn !== 'resuming' || e.gen !== s.gen) break;
      if (now_ms < s.resume_deadline_ms && !s.stopped) fx.push({ kind: 'open_channel', purpose: 'resume', timeout_ms: Math.max(50, s.resume_deadline_ms - now_ms) });
      else goAlone(s, s.lost?.message ?? 'connection lost', s.lost?.code, true, fx);
      break;
    case 'enqueue': {
      if (s.route === 'alone' && s.conn !== 'resuming') { fx.push({ kind: 'record', op: e.op }); break; }
      const seq = s.next_seq++;
      const bytes = opWeightBytes(e.op);
      const ack_now = e.ack_now ?? e.op.kind !== 'write';
      if (!ack_now) s.lazy_seq = seq;
      s.queue.push({ kind: 'op', seq, op: e.op, bytes, ack_now });
      s.queued_op_bytes += bytes;
      fx.push({ kind: 'queued', seq });
      pump(s, now_ms, cfg, fx);
      break;
    }
    case 'request':
      if (e.frame_type === 'REQ' && s.conn !== 'up') { fx.push({ kind: 'request_failed', code: PEER_LOST, message: 'no connection for request' }); break; }
      fx.push({ kind: 'request_queued', id: queueFrame(s, e.frame_type, e.body) });
      pump(s, now_ms, cfg, fx);
      break;
    case 'ack':
      if (s.conn !== 'up') break;
      watch({ kind: 'frame' });
      completeThrough(s, e.seq, now_ms, cfg, fx);
      pump(s, now_ms, cfg, fx);
      break;
    case 'rx':
      if (s.conn !== 'up') break;
      watch({ kind: 'frame' });
      if (e.resp_id !== undefined && e.resp_id === s.syncing_req) {
        // SECOND answered this session's STATE syncing: its copy is durably incomplete.
        s.syncing_req = undefined;
        fence(s, fx);
      }
      break;
    case 'peer_error':
      if (s.conn !== 'up') break;
      watch({ kind: 'frame' });
      fx.push({ kind: 'close_channel', code: APPLY, message: e.message });
      break;
    case 'bad_frame':
      if (s.conn !== 'up') break;
      fx.push({ kind: 'close_channel', code: 'HAKIT_E_MIRROR_BAD_FRAME', message: `unexpected frame type ${e.frame_type} from SECOND` });
      break;
    case 'closed': {
      if (s.conn !== 'up') break;
      s.gen++;
      s.conn = 'none';
      const code = e.code ?? PEER_LOST;
      const message = e.message ?? 'connection closed';
      fx.push({ kind: 'fail_requests', code, message });
      dropFrames(s);
      s.syncing_req = undefined;
      fx.push({ kind: 'status', status: { state: 'lost', code, message } });
      watch({ kind: 'closed', apply_error: e.code === APPLY });
      if (s.stopped || s.route === 'alone') break;
      if (e.code !== APPLY && s.route === 'in_sync' && !e.need_full) {
        s.conn = 'resuming';
        s.lost = { code: e.code, message: e.message ?? 'connection lost' };
        s.resume_deadline_ms = now_ms + cfg.resume_window_ms;
        fx.push({ kind: 'open_channel', purpose: 'resume', timeout_ms: Math.max(50, cfg.resume_window_ms) });
        break;
      }
      goAlone(s, e.message ?? 'connection lost', e.code, true, fx);
      break;
    }
    case 'internal_error':
      // The journal could not be written: drop the link, report ALONE with the code; ops
      // keep being recorded in memory (the runner makes the next pass a full comparison).
      if (s.conn === 'up') fx.push({ kind: 'drop_channel', code: e.code, message: e.message });
      if (s.conn === 'up' || s.conn === 'resuming') fx.push({ kind: 'fail_requests', code: e.code, message: e.message });
      goAlone(s, e.message, e.code, false, fx, true);
      break;
    case 'fullsync':
      watch({ kind: 'retry_now' });
      if (s.conn === 'none') tryConnect(s, now_ms, cfg, fx);
      else if (s.conn === 'up') fx.push({ kind: 'close_channel', code: PEER_LOST, message: 'full sync requested' });
      break;
    case 'kick':
      if (s.conn !== 'up') break;
      if (s.route === 'in_sync') {
        leaveBehind(s, now_ms, cfg, fx);
        startPass(s, e.mode, fx);
      } else if (s.route === 'syncing' || s.route === 'walking') {
        // The running pass may have told SECOND in_sync already: what became pending now is
        // not on SECOND, so its copy must be incomplete again before a sync call returns.
        leaveBehind(s, now_ms, cfg, fx);
      }
      break;
    case 'names_reconciled':
      if (e.gen === s.gen && s.conn === 'up' && s.route === 'walking') s.route = 'syncing';
      break;
    case 'in_sync':
      if (e.gen !== s.gen || s.conn !== 'up' || s.route === 'alone' || s.route === 'in_sync') break;
      s.route = 'in_sync';
      watch({ kind: 'in_sync' });
      fence(s, fx);
      fx.push({ kind: 'status', status: { state: 'in_sync' } });
      break;
    case 'pass_again':
      // SECOND was told in_sync (complete) before the pass found more to ship.
      if (e.gen === s.gen && s.conn === 'up' && s.route !== 'alone') {
        leaveBehind(s, now_ms, cfg, fx);
        startPass(s, e.mode ?? 'journal', fx);
      }
      break;
    case 'pass_failed':
      if (e.gen === s.gen && s.conn === 'up' && !s.stopped) fx.push({ kind: 'close_channel', code: PEER_LOST, message: 're-integration pass failed' });
      break;
    case 'fenced':
      if (!s.stopped) fence(s, fx);
      break;
    case 'fence_refused':
      if (s.stopped || s.fenced) break;
      s.fence_refusal = { code: e.code, message: e.message };
      fx.push({ kind: 'release_held', error: s.fence_refusal });
      break;
    case 'peer_lost': {
      if (s.stopped || (s.route === 'alone' && s.conn !== 'resuming')) break;
      const message = 'SECOND lost by the heartbeats';
      if (s.conn === 'up') fx.push({ kind: 'drop_channel', code: PEER_LOST, message });
      if (s.conn === 'up' || s.conn === 'resuming') fx.push({ kind: 'fail_requests', code: PEER_LOST, message });
      goAlone(s, message, PEER_LOST, true, fx);
      break;
    }
  }
  return { state: s, effects: fx };
}

// ---- queries (pure; the runner asks them between steps) ------------------------------------

/** May a bulk producer (re-integration, a small copied write) queue more? The outbox holds at
 *  most max_inflight_bytes of ops waiting to be sent (ALONE: always, nothing is queued). */
export function hasRoom(s: LinkState, cfg: LinkConfig = LINK_DEFAULTS): boolean {
  return s.route === 'alone' || s.queued_op_bytes <= cfg.max_inflight_bytes;
}

/** The seq a "wait until everything queued so far is done" waits for; undefined: nothing. */
export function drainSeq(s: LinkState): number | undefined {
  const last = s.next_seq - 1;
  return last > s.done_seq ? last : undefined;
}

/** Will SECOND acknowledge everything queued or in flight unasked and at once (no lazy write
 *  outstanding)? Then a sync call may wait for that ACK instead of shipping a barrier. */
export function acksUnasked(s: LinkState): boolean {
  return s.lazy_seq <= s.done_seq;
}

/** Does the fence hold (a sync call that returns on PRIM's local call alone need not wait)? */
export function isFenced(s: LinkState): boolean {
  return s.fenced;
}

/** The module layer's refusal of the fence, while it stands: a sync call that would wait for
 *  the fence fails with it at once. */
export function fenceRefusal(s: LinkState): { readonly code: ErrorCode; readonly message: string } | undefined {
  return s.fenced ? undefined : s.fence_refusal;
}

/** Is link generation `gen` still the attached, sending one? */
export function isCurrent(s: LinkState, gen: number): boolean {
  return gen === s.gen && s.conn === 'up' && !s.stopped;
}

export function phaseName(s: LinkState): LinkPhaseName {
  if (s.conn === 'resuming') return 'resuming';
  if (s.conn === 'connecting') return 'connecting';
  return s.route;
}

/** Ops and bytes sent and not yet acknowledged (the in-flight bound's figures). */
export function inFlight(s: LinkState): { ops: number; bytes: number } {
  return { ops: s.inflight.length, bytes: s.inflight_bytes };
}

// ---- internals ---------------------------------------------------------------------------------

function fence(s: LinkState, fx: LinkEffect[]): void {
  if (s.fenced) return;
  s.fenced = true;
  s.fence_refusal = undefined;
  fx.push({ kind: 'release_held' });
}

/**
 * A pass on a live connection (kick, pass_again) leaves SECOND's copy behind while it runs:
 * a write into a pending range stays pending, a full comparison's walk keeps writes local, and
 * sync calls return meanwhile. So, as at connect, STATE syncing goes out first and the fence is
 * down until SECOND answers it (its copy durably incomplete); the runner holds a sync call
 * until then. Before, SECOND stayed complete through such a pass: an fsync returned with a
 * write SECOND lacked, and SECOND could have taken over without it (found by the data-path
 * simulation once PRIM's disk could fill: a divergent range kicked a pass).
 */
function leaveBehind(s: LinkState, now_ms: number, cfg: LinkConfig, fx: LinkEffect[]): void {
  s.fenced = false;
  s.fence_refusal = undefined;
  s.syncing_req = queueFrame(s, 'STATE', { session: s.session, first_seq: s.next_seq, state: 'syncing' });
  pump(s, now_ms, cfg, fx);
}

function tryConnect(s: LinkState, now_ms: number, cfg: LinkConfig, fx: LinkEffect[]): void {
  if (!s.linking || s.stopped || s.conn !== 'none' || s.route !== 'alone' || !mayConnect(s.times, now_ms)) return;
  s.conn = 'connecting';
  fx.push({ kind: 'open_channel', purpose: 'connect', timeout_ms: cfg.welcome_timeout_ms });
}

function attach(s: LinkState, now_ms: number, cfg: LinkConfig, fx: LinkEffect[]): void {
  s.conn = 'up';
  s.gen++;
  s.lost = undefined;
  s.times = watchStep(s.times, { kind: 'attached' }, now_ms, cfg).state;
  fx.push({ kind: 'attach' });
}

function startPass(s: LinkState, mode: ReintegrationChoice, fx: LinkEffect[]): void {
  s.route = mode === 'journal' ? 'syncing' : 'walking';
  fx.push({ kind: 'start_reintegration', mode, gen: s.gen });
}

function queueFrame(s: LinkState, frame_type: FrameKind, body: Readonly<Record<string, unknown>>): number {
  const id = s.next_req++;
  s.queue.push({ kind: 'frame', frame_type, id, body });
  return id;
}

function firstQueuedSeq(s: LinkState): number | undefined {
  for (const it of s.queue) if (it.kind === 'op') return it.seq;
  return undefined;
}

/** Requests die with their connection; ops stay for a resume (or the journal). */
function dropFrames(s: LinkState): void {
  for (let i = s.queue.length - 1; i >= 0; i--) if (s.queue[i]!.kind === 'frame') s.queue.splice(i, 1);
}

/** Cumulative ACK: every op in flight with seq <= `seq` is done. */
function completeThrough(s: LinkState, seq: number, now_ms: number, cfg: LinkConfig, fx: LinkEffect[]): void {
  let last = -1;
  let n = 0;
  while (n < s.inflight.length && s.inflight[n]!.seq <= seq) {
    s.inflight_bytes -= s.inflight[n]!.bytes;
    last = s.inflight[n]!.seq;
    n++;
  }
  if (n === 0) return;
  s.inflight.splice(0, n);
  s.done_seq = last;
  s.times = watchStep(s.times, { kind: 'ack_progress' }, now_ms, cfg).state;
  fx.push({ kind: 'complete', through_seq: last });
}

/** Sends what the in-flight bound allows, in queue order (a frame waits behind every op
 *  queued before it). One op always goes when nothing is in flight, whatever its size. */
function pump(s: LinkState, now_ms: number, cfg: LinkConfig, fx: LinkEffect[]): void {
  if (s.conn !== 'up') return;
  let n = 0;
  const max = cfg.max_inflight_bytes;
  for (; n < s.queue.length; n++) {
    const it = s.queue[n]!;
    if (it.kind === 'frame') { fx.push({ kind: 'send_frame', frame_type: it.frame_type, id: it.id, body: it.body }); continue; }
    if (s.inflight_bytes > 0 && s.inflight_bytes + it.bytes > max) break;
    s.queued_op_bytes -= it.bytes;
    if (s.inflight.length === 0) s.times = watchStep(s.times, { kind: 'first_in_flight' }, now_ms, cfg).state;
    s.inflight.push(it);
    s.inflight_bytes += it.bytes;
    fx.push({ kind: 'send_op', seq: it.seq, op: it.op, ack_now: it.ack_now });
  }
  if (n > 0) s.queue.splice(0, n);
}

/** SECOND is gone: every unacknowledged op becomes pending, the journal takes over. */
function goAlone(s: LinkState, reason: string, code: ErrorCode | undefined, rewrite_journal: boolean, fx: LinkEffect[], always_report = false): void {
  const wasAlone = s.route === 'alone' && s.conn !== 'resuming';
  // From here PRIM writes without SECOND: see the fence at the head.
  const unfence = !wasAlone && !s.stopped;
  if (unfence) {
    s.fenced = false;
    s.fence_refusal = undefined;
  }
  s.syncing_req = undefined;
  s.gen++;
  s.route = 'alone';
  s.conn = 'none';
  s.lost = undefined;
  const ops: MirrorOp[] = [];
  for (const it of s.inflight) ops.push(it.op);
  for (const it of s.queue) if (it.kind === 'op') ops.push(it.op);
  s.inflight.length = 0;
  s.queue.length = 0;
  s.inflight_bytes = 0;
  s.queued_op_bytes = 0;
  const through_seq = s.next_seq - 1;
  if (ops.length > 0 || rewrite_journal) fx.push({ kind: 'go_alone', ops, through_seq, rewrite_journal });
  s.done_seq = through_seq;
  if (always_report || !wasAlone || ops.length > 0) fx.push({ kind: 'status', status: code ? { state: 'alone', reason, code } : { state: 'alone', reason } });
  // After the status: the module layer hears of the loss before it is asked for the fence.
  if (unfence) fx.push({ kind: 'fence_wanted' });
}
