// The FUSE floor of the mirror bench: Debian's bindfs (a C passthrough on libfuse, no
// replication, no journal) mounted over a local directory in one node's mount view. What a
// workload costs through it is what any capture in a FUSE file system pays on this machine
// before replicating anything: a kernel↔daemon round trip per request. The side-by-side bench
// runs the same workloads on it, so that its figures separate the cost of FUSE from the cost
// of hakit. bindfs runs as libfuse sets it up by default: one thread, no writeback cache.
// Torn down by its pid (it unmounts on SIGTERM), then by a lazy unmount of its mount point.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { parseMountinfo } from '../../core/mirror/pure/mountinfo';
import { sh } from '../support/netns';

const BINDFS = '/usr/bin/bindfs';
const MOUNT_WAIT_MS = 10_000;
const EXIT_WAIT_MS = 5_000;

export class FuseFloor {
  private exited = false;

  private constructor(private readonly proc: ChildProcess, private readonly mountPid: number, readonly dir: string) {
    proc.on('exit', () => { this.exited = true; });
  }

  /** bindfs over `src` at `dir` (both made here), in `mountPid`'s mount view. */
  static async start(mountPid: number, src: string, dir: string): Promise<FuseFloor> {
    if (!fs.existsSync(BINDFS)) throw new Error('mirror bench: the FUSE floor needs Debian\'s bindfs (installers/ensure-system-packages.sh installs it)');
    for (const d of [src, dir]) fs.mkdirSync(d, { recursive: true });
    // allow_other: PostgreSQL runs as its own user on it, as on the mirror's mount.
    const proc = spawn('nsenter', ['-t', String(mountPid), '-m', '--', BINDFS, '-f', '-o', 'allow_other', src, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    const floor = new FuseFloor(proc, mountPid, dir);
    const deadline = performance.now() + MOUNT_WAIT_MS;
    while (!floor.mounted()) {
      if (floor.exited || performance.now() > deadline) {
        await floor.stop();
        throw new Error(`mirror bench: bindfs did not mount ${dir}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return floor;
  }

  /** bindfs's pid (nsenter execs it), for its CPU time. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  private mounted(): boolean {
    let info: string;
    try { info = fs.readFileSync(`/proc/${this.mountPid}/mountinfo`, 'utf8'); } catch { return false; } // the view is gone
    return parseMountinfo(info).some((m) => m.mountpoint === this.dir && m.fstype.startsWith('fuse'));
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      const deadline = performance.now() + EXIT_WAIT_MS;
      while (!this.exited && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (!this.exited) this.proc.kill('SIGKILL');
    }
    if (this.mounted()) sh(['nsenter', '-t', String(this.mountPid), '-m', '--', 'umount', '-l', this.dir], true);
  }
}
