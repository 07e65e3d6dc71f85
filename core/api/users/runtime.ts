// The daemon's view of the users file: re-read when it changes on disk (`hakit user …` writes
// it while hakitd runs), and kept identical on every node: when this node sees a newer serial
// it tells its peers, which pull it (signed GET /api/v1/internal/users); at start and every
// USERS_SYNC_MS it pulls from every peer and keeps the newest (pure/users-doc.ts newerDoc).
import fs from 'node:fs';
import type { LogSink } from '../../log/sink';
import type { PeerClient } from '../server/backend';
import { EMPTY_USERS_DOC, newerDoc, parseUsersDoc, type UsersDoc } from '../pure/users-doc';
import { readUsers, usersFile, writeUsers } from './store';

/** How often the file's stat is looked at (a request never waits for more than a stat). */
export const USERS_STAT_MS = 1_000;
export const USERS_SYNC_MS = 60_000;

export class UsersRuntime {
  private doc: UsersDoc = EMPTY_USERS_DOC;
  private stamp = '';
  private checked_ms = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private announced_serial = -1;

  constructor(
    private readonly conf_dir: string,
    private readonly log: LogSink,
    private readonly peers: PeerClient | null = null,
    private readonly peerNames: () => readonly string[] = () => [],
    private readonly now_ms: () => number = Date.now,
  ) {}

  get(): UsersDoc {
    const now = this.now_ms();
    if (now - this.checked_ms >= USERS_STAT_MS) {
      this.checked_ms = now;
      this.reload();
    }
    return this.doc;
  }

  private reload(): void {
    let stamp = 'absent';
    try {
      const st = fs.statSync(usersFile(this.conf_dir));
      stamp = `${st.mtimeMs}/${st.size}/${st.ino}`;
    } catch {
      // No file: no users, nobody can log in (API keys neither).
    }
    if (stamp === this.stamp) return;
    try {
      this.doc = readUsers(this.conf_dir);
      this.stamp = stamp;
    } catch (e) {
      // Keep the last good copy; say why once per change of the file.
      this.stamp = stamp;
      this.log.error({ err: e instanceof Error ? e.message : String(e), code: 'HAKIT_E_AUTH_USERS_FILE' }, 'users file unreadable: keeping the last good copy');
    }
    if (this.announced_serial >= 0 && this.doc.serial > this.announced_serial) this.announce();
    this.announced_serial = Math.max(this.announced_serial, this.doc.serial);
  }

  /** The file changed here: reload at once and tell the peers; or a peer said its copy changed: pull it. */
  changed(from?: string): void {
    if (from !== undefined) {
      void this.pullFrom(from);
      return;
    }
    this.checked_ms = this.now_ms();
    this.reload();
    this.announce();
  }

  private announce(): void {
    this.announced_serial = this.doc.serial;
    if (!this.peers) return;
    for (const p of this.peerNames()) {
      this.peers.request(p, 'POST', '/api/v1/internal/users/changed', {}, '-', '').catch((e: unknown) => this.log.debug({ peer: p, err: String(e) }, 'could not tell a peer the users changed'));
    }
  }

  async pullFrom(peer: string): Promise<void> {
    if (!this.peers) return;
    try {
      const a = await this.peers.request(peer, 'GET', '/api/v1/internal/users', undefined, '-', '');
      if (a.status !== 200) return;
      const theirs = parseUsersDoc(JSON.stringify(a.body), `users file of ${peer}`);
      const mine = this.get();
      if (newerDoc(mine, theirs) === theirs && JSON.stringify(theirs) !== JSON.stringify(mine)) {
        writeUsers(this.conf_dir, theirs);
        this.announced_serial = theirs.serial;
        this.checked_ms = -Infinity;
        this.get();
        this.log.info({ peer, serial: theirs.serial }, 'users file updated from a peer');
      }
    } catch (e) {
      this.log.debug({ peer, err: e instanceof Error ? e.message : String(e) }, 'users pull failed');
    }
  }

  startSync(): void {
    this.get();
    this.announced_serial = this.doc.serial;
    const all = (): void => {
      for (const p of this.peerNames()) void this.pullFrom(p);
    };
    all();
    this.timer = setInterval(all, USERS_SYNC_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
