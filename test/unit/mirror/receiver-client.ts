// A protocol client of SECOND's receiver for tests on loopback: sends ops as PRIM does (one
// frame each, in one burst), waits for cumulative ACKs, keeps every frame it got; and a
// receiver over a fresh temporary directory (`base`: copy/0 and state).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HakitError } from '../../../core/errors/catalogue';
import { MirrorReceiver, type ReceiverOptions } from '../../../core/mirror/receiver';
import type { ReceiverTiming } from '../../../core/mirror/receiver-timing';
import { connectChannel, type Channel } from '../../../core/mirror/stream/channel';
import { FrameType, type Frame } from '../../../core/mirror/stream/frame';
import { encodeOpParts } from '../../../core/mirror/pure/op-codec';
import { type MirrorOp } from '../../../core/mirror/pure/ops';

export const TEST_KEY = Buffer.alloc(32, 9);
export const TEST_MODULE = 'apply';
const ACK_WAIT_MS = 10_000;

export class ReceiverClient {
  private seq = 0;
  readonly acks: number[] = [];
  readonly frames: Frame[] = [];
  private waiters: Array<{ seq: number; done: () => void }> = [];
  constructor(readonly ch: Channel) {
    ch.on('frame', (f: Frame) => {
      this.frames.push(f);
      if (f.type !== FrameType.ACK) return;
      this.acks.push(f.seq);
      this.waiters = this.waiters.filter((w) => (f.seq >= w.seq ? (w.done(), false) : true));
    });
  }
  static async open(port: number): Promise<ReceiverClient> {
    const ch = await connectChannel('127.0.0.1', port, { key: TEST_KEY, module: TEST_MODULE });
    const welcome = await new Promise<Frame>((resolve) => ch.once('frame', resolve));
    if (welcome.type !== FrameType.WELCOME) throw new Error(`expected WELCOME, got frame type ${welcome.type}`);
    return new ReceiverClient(ch);
  }
  /** Queues ops in one go (one socket write each, no await between: one burst). */
  send(ops: readonly MirrorOp[], flags: (i: number) => number = () => 0): number {
    ops.forEach((op, i) => this.ch.send(FrameType.OP, ++this.seq, encodeOpParts(op), flags(i)));
    return this.seq;
  }
  ack(seq: number, wait_ms = ACK_WAIT_MS): Promise<void> {
    if (this.acks.some((a) => a >= seq)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ACK of ${seq}; got ${this.acks.join(',')}`)), wait_ms);
      this.waiters.push({ seq, done: () => { clearTimeout(t); resolve(); } });
    });
  }
  close(): void { this.ch.close(); }
}

export interface StartedReceiver {
  readonly base: string;
  readonly receiver: MirrorReceiver;
  /** Every apply error the receiver reported. */
  readonly applyErrors: HakitError[];
}

export async function startReceiver(prefix: string, extra: Partial<ReceiverOptions>, timing?: ReceiverTiming): Promise<StartedReceiver> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(base, 'copy', '0'), { recursive: true });
  fs.mkdirSync(path.join(base, 'state'));
  const receiver = new MirrorReceiver({ module: TEST_MODULE, dir: path.join(base, 'copy'), state_dir: path.join(base, 'state'), key: TEST_KEY, host: '127.0.0.1', port: 0, async: 'none', roots: 1, ...extra }, timing);
  const applyErrors: HakitError[] = [];
  receiver.on('applyError', (e) => applyErrors.push(e));
  await receiver.start();
  return { base, receiver, applyErrors };
}
