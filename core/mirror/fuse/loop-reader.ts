// Reads /dev/fuse on the event loop (epoll) instead of in libuv's thread pool. A read in the
// pool costs every request two thread wake-ups more than needed (the kernel wakes the pool
// thread, which wakes the event loop), ~20-40 µs each on a loaded 2-core node, on top of the
// request itself; /dev/fuse can be polled, so libuv can read it like a pipe. Node has no
// public API for polling a character device: the stream handle of its pipe binding is used
// (present in Node 20-22); when it is missing the session falls back to the pool reads.
// The handle reads every request into ONE buffer (useUserBuffer): the callback must be done
// with it before returning (the session copies what it keeps, i.e. write payloads).
import os from 'node:os';

/** Node's libuv stream handle of the pipe binding, as far as it is used here. */
interface StreamHandle {
  open(fd: number): number;
  useUserBuffer(b: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  close(cb?: () => void): void;
  onread: ((ab?: ArrayBuffer) => void) | null;
}

interface Binding {
  make(): StreamHandle;
  /** Where the C++ side leaves the byte count (or negative errno) of the last read. */
  readResult(): number;
}

let binding: Binding | null | undefined;

function loadBinding(): Binding | null {
  if (binding !== undefined) return binding;
  try {
    const legacy = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const pipe = legacy('pipe_wrap') as { Pipe: new (type: number) => StreamHandle; constants: { SOCKET: number } };
    const stream = legacy('stream_wrap') as { streamBaseState: Int32Array; kReadBytesOrError: number };
    if (typeof pipe.Pipe !== 'function' || !(stream.streamBaseState instanceof Int32Array)) throw new Error('unexpected binding shape');
    binding = {
      make: () => new pipe.Pipe(pipe.constants.SOCKET),
      readResult: () => stream.streamBaseState[stream.kReadBytesOrError]!,
    };
  } catch {
    binding = null;
  }
  return binding;
}

const ERRNO = os.constants.errno;

export class LoopReader {
  private handle: StreamHandle;
  private reading = false;
  /** The session wants requests (resume() called last, not pause()). */
  private wanted = false;
  private closed = false;

  private constructor(
    private readonly fd: number,
    private readonly b: Binding,
    private readonly buf: Buffer,
    private readonly onRequest: (buf: Buffer, n: number) => void,
    private readonly onEnd: (err: NodeJS.ErrnoException | undefined) => void,
  ) {
    this.handle = this.open();
  }

  /** A reader of `fd` (set non-blocking), or undefined when this Node cannot poll it. */
  static create(fd: number, buffer_bytes: number, onRequest: (buf: Buffer, n: number) => void, onEnd: (err: NodeJS.ErrnoException | undefined) => void): LoopReader | undefined {
    const b = loadBinding();
    if (!b) return undefined;
    try {
      return new LoopReader(fd, b, Buffer.allocUnsafeSlow(buffer_bytes), onRequest, onEnd);
    } catch {
      return undefined;
    }
  }

  private open(): StreamHandle {
    const h = this.b.make();
    const r = h.open(this.fd);
    if (r !== 0) throw new Error(`uv_pipe_open of /dev/fuse: ${r}`);
    h.useUserBuffer(this.buf);
    h.onread = () => this.onRead(h);
    return h;
  }

  private onRead(h: StreamHandle): void {
    if (h !== this.handle) return;
    const n = this.b.readResult();
    if (n > 0) { this.onRequest(this.buf, n); return; }
    // 0: libuv's EAGAIN. epoll said readable, but the request was gone by the time of the read
    // (interrupted while still pending: the kernel takes it back from the queue). libuv keeps
    // polling; ending here closed /dev/fuse and aborted the mount under signalled writers
    // (PostgreSQL's backends are signalled all the time).
    if (n === 0) return;
    const errno = -n;
    // libuv stops a stream after any read error and will not start it again. ENOENT: the
    // request was interrupted before we read it; go on with a fresh handle on the same
    // descriptor (closing the old one would close /dev/fuse, i.e. end the mount).
    // (Deferred: libuv unregisters the old handle's watcher only after this callback.)
    if (errno === ERRNO.ENOENT || errno === ERRNO.EINTR || errno === ERRNO.EAGAIN) {
      this.reading = false;
      setImmediate(() => {
        if (this.closed) return;
        try {
          this.handle = this.open();
          if (this.wanted) this.start();
        } catch (e) {
          this.end(e as NodeJS.ErrnoException);
        }
      });
      return;
    }
    // ENODEV: unmounted; ECONNABORTED: aborted through fusectl (not an error of ours).
    const code = Object.entries(ERRNO).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
    this.end(errno === ERRNO.ENODEV || errno === ERRNO.ECONNABORTED ? undefined : Object.assign(new Error(`read of /dev/fuse: ${code}`), { code }));
  }

  private end(err: NodeJS.ErrnoException | undefined): void {
    this.reading = false;
    this.onEnd(err);
  }

  /** Stops taking requests (they wait in the kernel) until resume(). */
  pause(): void {
    this.wanted = false;
    if (!this.reading || this.closed) return;
    this.handle.readStop();
    this.reading = false;
  }

  resume(): void {
    this.wanted = true;
    this.start();
  }

  private start(): void {
    if (this.reading || this.closed) return;
    const r = this.handle.readStart();
    if (r === 0) this.reading = true;
    else this.end(Object.assign(new Error(`read of /dev/fuse cannot start: ${r}`), { code: 'EIO' }));
  }

  /** Stops reading and closes the descriptor (the handle owns it). */
  close(cb: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
    this.handle.readStop();
    this.handle.close(cb);
  }
}
