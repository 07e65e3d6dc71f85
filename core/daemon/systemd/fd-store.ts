// The FUSE fd keeper of a daemon run by systemd: the unit's file descriptor store
// (FileDescriptorStoreMax= in hakitd.service). Descriptors go in through hakit-sdnotify
// --fdstore (Node cannot send SCM_RIGHTS) and come back at the next start as LISTEN_FDS.
// The lab's fd-holder (test/daemon-lab/fd-holder.c) speaks the same protocol.
// Why: docs/adr/0009-fuse-mount-survives-daemon.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connectionOfFdName, type FuseFdKeeper } from '../../mirror/fuse/fd-keeper';
import type { ListenFd } from './pure/listen-fds';

/** A one-shot helper that does not answer within this is killed (the store send failed). */
const HELPER_TIMEOUT_MS = 5_000;

export interface FdStoreOptions {
  readonly helper_path: string;
  readonly socket: string;
  readonly claim_pid: number;
  /** <run_dir>/fuse: where capture sessions record what a successor needs. */
  readonly state_dir: string;
  /** What the previous daemon's store gave back. */
  readonly passed: readonly ListenFd[];
}

export class SystemdFdStore implements FuseFdKeeper {
  readonly state_dir: string;
  private readonly given = new Map<string, number>();

  constructor(private readonly o: FdStoreOptions) {
    this.state_dir = o.state_dir;
    for (const p of o.passed) {
      // Only our own names are taken; anything else is closed (not ours to hold).
      if (connectionOfFdName(p.name) !== undefined && !this.given.has(p.name)) this.given.set(p.name, p.fd);
      else closeQuietly(p.fd);
    }
  }

  get passedNames(): string[] { return [...this.given.keys()]; }

  private helper(args: string[], fd?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'ignore', 'pipe'];
      if (fd !== undefined) stdio.push(fd);
      const child = spawn(this.o.helper_path, ['--pid', String(this.o.claim_pid), ...args], { env: { NOTIFY_SOCKET: this.o.socket }, stdio });
      let err = '';
      child.stderr?.setEncoding('utf8').on('data', (t: string) => { err += t; });
      const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${path.basename(this.o.helper_path)} ${args.join(' ')}: ${err.trim() || (signal ?? `exit ${code}`)}`));
      });
    });
  }

  keep(name: string, fd: number): Promise<void> {
    return this.helper(['--fdstore', name], fd);
  }

  drop(name: string): Promise<void> {
    return this.helper(['--fdstore-remove', name]);
  }

  has(name: string): boolean {
    return this.given.has(name);
  }

  take(name: string): number | undefined {
    const fd = this.given.get(name);
    this.given.delete(name);
    return fd;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // not open
  }
}
