// The systemd notify port of hakitd and hakit-witness (sd_notify(3)): READY=1 once serving,
// WATCHDOG=1 while healthy, STOPPING=1 at shutdown, STATUS= for `systemctl status`.
// Node cannot send AF_UNIX datagrams, so the real notifier feeds lines to hakit-sdnotify
// (installers/systemd/hakit-sdnotify.c), a child that lives as long as the daemon.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseNotifySettings, statusLine, SYSTEMD_NOTIFY_NAMES, type NotifySettings } from './pure/notify-env';
import { parseListenFds, SYSTEMD_LISTEN_NAMES } from './pure/listen-fds';
import { SystemdFdStore } from './fd-store';
import { setFuseFdKeeper } from '../../mirror/fuse/fd-keeper';

export interface SystemdNotifier {
  ready(): void;
  watchdog(): void;
  stopping(): void;
  status(text: string): void;
  /** Ends the helper (it exits when its stdin closes). */
  close(): Promise<void>;
}

/** Not run by systemd (or not as Type=notify): nothing to tell. Also the fake for tests. */
export class NoopNotifier implements SystemdNotifier {
  readonly sent: string[] = [];
  ready(): void {
    this.sent.push('READY=1');
  }
  watchdog(): void {
    this.sent.push('WATCHDOG=1');
  }
  stopping(): void {
    this.sent.push('STOPPING=1');
  }
  status(text: string): void {
    this.sent.push(statusLine(text));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const HELPER_NAME = 'hakit-sdnotify';
/** dist/core/daemon/systemd -> dist/bin/ is three levels up. */
const HELPER_FROM_HERE = path.join('..', '..', '..', 'bin', HELPER_NAME);
/** The helper exits at once when its stdin closes; this bounds a stuck one. */
const CLOSE_WAIT_MS = 2_000;

/** Where the helper is: $HAKIT_SDNOTIFY, else dist/bin/ beside the compiled JS. */
export function sdnotifyHelperPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['HAKIT_SDNOTIFY'] || path.resolve(__dirname, HELPER_FROM_HERE);
}

export interface HelperNotifierOptions {
  readonly helper_path: string;
  readonly socket: string;
  /** The pid the notifications speak for (the daemon's), so the unit can keep NotifyAccess=main. */
  readonly claim_pid: number;
  /** Told once when the helper cannot start or dies; the daemon keeps running. */
  readonly onTrouble?: (message: string) => void;
}

export class HelperNotifier implements SystemdNotifier {
  private child: ChildProcess | undefined;
  private troubled = false;

  constructor(private readonly o: HelperNotifierOptions) {
    if (!fs.existsSync(o.helper_path)) {
      this.trouble(`${o.helper_path} is missing: systemd will not hear READY or the watchdog`);
      return;
    }
    const child = spawn(o.helper_path, ['--pid', String(o.claim_pid)], {
      env: { NOTIFY_SOCKET: o.socket },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    child.on('error', (e) => this.trouble(`${o.helper_path}: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.trouble(`${HELPER_NAME} exited (${signal ?? code})`);
      this.child = undefined;
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.trouble(text.trim()));
    child.stdin?.on('error', () => undefined); // a dead helper is reported by 'exit'
    // The helper must not keep the daemon's event loop alive once everything else is done.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    this.child = child;
  }

  private trouble(message: string): void {
    if (this.troubled) return;
    this.troubled = true;
    this.o.onTrouble?.(message);
  }

  private send(line: string): void {
    const stdin = this.child?.stdin;
    if (stdin && stdin.writable) stdin.write(`${line}\n`);
  }

  ready(): void {
    this.send('READY=1');
  }
  watchdog(): void {
    this.send('WATCHDOG=1');
  }
  stopping(): void {
    this.send('STOPPING=1');
  }
  status(text: string): void {
    this.send(statusLine(text));
  }

  close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, CLOSE_WAIT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin?.end();
    });
  }
}

export interface SystemdSession {
  readonly notifier: SystemdNotifier;
  readonly settings: NotifySettings;
}

/**
 * Reads what systemd set for this process and removes it from `env`, so that module scripts
 * and checkers never inherit the notify socket or the watchdog settings. Without
 * NOTIFY_SOCKET the notifier does nothing.
 */
export function systemdSession(env: NodeJS.ProcessEnv = process.env, pid = process.pid, onTrouble?: (message: string) => void, run_dir?: string): SystemdSession {
  const settings = parseNotifySettings(env, pid);
  const passed = parseListenFds(env, pid);
  for (const name of [...SYSTEMD_NOTIFY_NAMES, ...SYSTEMD_LISTEN_NAMES]) delete env[name];
  // With a notify socket and a run dir, mirror captures keep their /dev/fuse descriptors in
  // the unit's fd store, so that a daemon death does not end their mounts
  // (docs/adr/0009-fuse-mount-survives-daemon.md).
  if (settings.socket && run_dir !== undefined) {
    setFuseFdKeeper(new SystemdFdStore({ helper_path: sdnotifyHelperPath(env), socket: settings.socket, claim_pid: pid, state_dir: path.join(run_dir, 'fuse'), passed }));
  } else {
    for (const p of passed) try { fs.closeSync(p.fd); } catch { /* not open */ }
  }
  if (!settings.socket) return { notifier: new NoopNotifier(), settings };
  const notifier = new HelperNotifier({ helper_path: sdnotifyHelperPath(env), socket: settings.socket, claim_pid: pid, ...(onTrouble ? { onTrouble } : {}) });
  return { notifier, settings };
}
