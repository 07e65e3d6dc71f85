// Frame protection micro-benchmark: seal (encodeFrame) + open (FrameDecoder.push) of one
// replication frame, in-process, 'auth' (GMAC, payload in clear) against 'encrypt'
// (AES-256-GCM), side by side in one run: rounds alternate the modes, each figure is the
// median of its rounds. Both sides of a synchronous write pay one of each.
//   npm run bench -- frames [--rounds N] [--round-ms MS]
import { randomBytes } from 'node:crypto';
import { encodeFrame, FrameCipher, FrameDecoder, FrameType, type FrameProtection } from '../../core/mirror/stream/frame';
import { median, printFigures, type Figure } from './figures';

const SIZES = [{ name: '128k', bytes: 128 * 1024 }, { name: '1m', bytes: 1024 * 1024 }] as const;
const MODES: readonly FrameProtection[] = ['auth', 'encrypt'];
const MAX_ROUNDS = 50;
const MAX_ROUND_MS = 5_000;
/** Frames per round at most, whatever the speed: bounds a round in count as well as time. */
const MAX_FRAMES_PER_ROUND = 100_000;
const WARMUP_FRAMES = 20;

function argNum(args: readonly string[], name: string, dflt: number, max: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? Math.min(v, max) : dflt;
}

/** One sender/receiver pair of one mode; `frame()` seals and opens one frame. */
function link(mode: FrameProtection, payload: Buffer): () => void {
  const key = randomBytes(32);
  const tx = new FrameCipher(key, 0, mode);
  const dec = new FrameDecoder('bench');
  dec.authenticate(new FrameCipher(key, 0, mode));
  let seq = 0;
  return () => {
    // The parts go to the decoder one by one, as socket reads would: the decoder then joins
    // header, body and tag once, which a frame spanning several reads costs in both modes.
    let got = 0;
    for (const part of encodeFrame(FrameType.OP, ++seq, payload, tx)) for (const f of dec.push(part)) got += f.payload.length;
    if (got !== payload.length) throw new Error('frame did not round-trip');
  };
}

/** MB/s (10^6 bytes of payload per second) over one round of at most round_ms. */
function round(frame: () => void, bytes: number, round_ms: number): number {
  const t0 = performance.now();
  let n = 0;
  while (n < MAX_FRAMES_PER_ROUND && performance.now() - t0 < round_ms) {
    frame();
    n++;
  }
  return (n * bytes) / ((performance.now() - t0) / 1000) / 1e6;
}

export async function framesBench(args: readonly string[]): Promise<void> {
  const rounds = argNum(args, '--rounds', 7, MAX_ROUNDS);
  const round_ms = argNum(args, '--round-ms', 300, MAX_ROUND_MS);
  const figures: Figure[] = [];
  for (const size of SIZES) {
    const payload = randomBytes(size.bytes);
    const frames = new Map(MODES.map((m) => [m, link(m, payload)] as const));
    const speeds = new Map<FrameProtection, number[]>(MODES.map((m) => [m, []]));
    for (const f of frames.values()) for (let i = 0; i < WARMUP_FRAMES; i++) f();
    for (let r = 0; r < rounds; r++) {
      // Alternate which mode goes first so that neither always runs on a warmer machine.
      const order = r % 2 === 0 ? MODES : [...MODES].reverse();
      for (const m of order) speeds.get(m)!.push(round(frames.get(m)!, size.bytes, round_ms));
      await new Promise((r2) => setImmediate(r2));
    }
    const auth = median(speeds.get('auth')!);
    const encrypt = median(speeds.get('encrypt')!);
    figures.push(
      { figure: `seal_open_${size.name}_auth`, value: auth, unit: 'MB/s', note: 'GMAC, payload in clear' },
      { figure: `seal_open_${size.name}_encrypt`, value: encrypt, unit: 'MB/s', note: 'AES-256-GCM' },
      { figure: `seal_open_${size.name}_auth_vs_encrypt`, value: auth / encrypt, unit: 'x', note: 'auth ÷ encrypt' },
      // What encryption adds per MiB written, seal and open together (one on each node).
      { figure: `encrypt_extra_${size.name}_per_mib`, value: (2 ** 20 / 1e6) * (1000 / encrypt - 1000 / auth), unit: 'ms', note: 'seal + open, per MiB' },
    );
  }
  printFigures('frames', figures);
}
