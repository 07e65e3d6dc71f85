// Test support for systemd notifications: compiles hakit-sdnotify and the test receiver
// (notify-receiver.c, the systemd side of NOTIFY_SOCKET) and runs the receiver.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');
const HELPER_SOURCE = path.join(REPO, 'installers', 'systemd', 'hakit-sdnotify.c');
const RECEIVER_SOURCE = path.join(REPO, 'test', 'installers', 'notify-receiver.c');
/** The receiver exits on its own after this, whatever the test does. */
const RECEIVER_LIFETIME_S = 60;
const RECEIVER_READY_MS = 3_000;
const POLL_MS = 20;

export interface NotifyBinaries {
  readonly dir: string;
  readonly helper: string;
  readonly receiver: string;
}

export function compileNotifyBinaries(): NotifyBinaries {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-notify-'));
  const helper = path.join(dir, 'hakit-sdnotify');
  const receiver = path.join(dir, 'notify-receiver');
  for (const [source, out] of [
    [HELPER_SOURCE, helper],
    [RECEIVER_SOURCE, receiver],
  ] as const) {
    const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', out, source], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc ${source}: ${r.stderr || r.error?.message}`);
  }
  return { dir, helper, receiver };
}

export interface Notification {
  readonly pid: number;
  readonly message: string;
}

/** A bound NOTIFY_SOCKET; `received` grows as datagrams arrive. */
export class NotifyReceiver {
  readonly received: Notification[] = [];
  private readonly child: ChildProcess;
  private buffer = '';
  private ready = false;

  constructor(
    binary: string,
    readonly socket: string,
  ) {
    this.child = spawn(binary, [socket, String(RECEIVER_LIFETIME_S)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child.stdout?.setEncoding('utf8').on('data', (text: string) => this.onData(text));
  }

  private onData(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line === 'ready') {
        this.ready = true;
        continue;
      }
      const m = /^pid=(-?\d+) (.*)$/.exec(line);
      if (m) this.received.push({ pid: Number(m[1]), message: m[2] ?? '' });
    }
  }

  async started(): Promise<this> {
    await waitFor(() => this.ready, RECEIVER_READY_MS, `receiver on ${this.socket}`);
    return this;
  }

  messages(): string[] {
    return this.received.map((n) => n.message);
  }

  /** Waits until a datagram `message` arrived; returns it. */
  async next(message: string, timeout_ms: number): Promise<Notification> {
    let found: Notification | undefined;
    await waitFor(() => (found = this.received.find((n) => n.message === message)) !== undefined, timeout_ms, `"${message}" on ${this.socket} (got: ${this.messages().join(' | ')})`);
    return found as Notification;
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    if (!this.socket.startsWith('@')) fs.rmSync(this.socket, { force: true });
  }
}

export async function waitFor(check: () => boolean, timeout_ms: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export function exitOf(child: ChildProcess, timeout_ms: number): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('timeout');
    }, timeout_ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? String(signal));
    });
  });
}
