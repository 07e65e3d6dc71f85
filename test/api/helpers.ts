// Test kit for the API: TLS material in a temp conf dir (the real openssl path), a fake
// backend driven by the daemon's real control handler over a fake target, and a small HTTPS
// client that returns status, headers and parsed body.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { HakitError } from '../../core/errors/catalogue';
import { makeControlHandler, type ControlTarget } from '../../core/daemon/control-handlers';
import { makeMirrorHandler } from '../../core/daemon/mirror-handlers';
import { VerifyRecords } from '../../core/daemon/verify-records';
import type { MirrorControl } from '../../core/module/runner/replication-mirror';
import type { TreeDifference } from '../../core/mirror/pure/tree-diff';
import type { ModuleStatus } from '../../core/control/api';
import type { OperatorCommand } from '../../core/module/pure/types';
import { createClusterCa, installNodeCert, issueNodeCert, loadTlsMaterial, type TlsMaterial } from '../../core/api/tls';
import type { ApiBackend } from '../../core/api/server/backend';
import { ApiServer, type ApiServerOptions } from '../../core/api/server/api-server';
import { AuditLog, auditPath } from '../../core/api/audit';
import { SILENT_LOG } from '../../core/log/sink';

// Temporary directories this test file made (CA, logs, module store, mirror records). They go
// once the file is done and every fake API it started is closed. The file's own afterAll
// closes its servers after this one has run (jest runs top-level afterAll hooks in the order
// they are declared, and this module is imported first), so the last close removes them.
const madeDirs: string[] = [];
let openServers = 0;
let fileDone = false;

function removeIfDone(): void {
  if (!fileDone || openServers > 0) return;
  for (const d of madeDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

afterAll(() => {
  fileDone = true;
  removeIfDone();
});

function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(d);
  return d;
}

export interface TlsFixture {
  readonly conf_dir: string;
  readonly tls: TlsMaterial;
}

/** One CA and a node certificate for 127.0.0.1, made once per test file. */
export async function makeTls(node = 'n1'): Promise<TlsFixture> {
  const conf_dir = tempDir('hakit-api-test-');
  await createClusterCa(conf_dir, 'test');
  installNodeCert(conf_dir, await issueNodeCert(conf_dir, node, ['127.0.0.1']));
  return { conf_dir, tls: loadTlsMaterial(conf_dir) };
}

export class FakeDaemon {
  readonly commands: Array<{ module: string; command: OperatorCommand }> = [];
  level = 'info';
  state: ModuleStatus['state'] = 'PRIM';
  resource: 'up' | 'down' = 'up';
  /** hakitd reloads asked for (Configuration routes). */
  reloads = 0;
  /** Manual failover (docs/geo.md): set to make m1 wait for approval (WAIT/Approval); approve/deny act on it. */
  approval: ModuleStatus['approval'] = null;
  /** Heartbeats: false makes n2 lost on every LAN, silent that long (ms). */
  peerHeard = true;
  peerSilent_ms = 0;
  /** The module's switches, as the failover/boot commands and monitor-switch set them. */
  failover = true;
  boot = false;
  checkers = true;
  errd = true;
  /** What the fake engine's rfsverify finds, and how long it takes. */
  verifyDifferences: TreeDifference[] = [];
  verifyDelay_ms = 0;
  /** m1's PRIM journal emptied by its disk for this long (null: kept). */
  journalEmptied_ms: number | null = null;
  /** Where the daemon's real verify records (core/daemon/verify-records.ts) keep m1's last verify. */
  readonly mirror_state_dir = tempDir('hakit-api-mirror-');

  /** m1's engine as the mirror commands see it: PRIM, re-integrating. */
  mirrorControl(): MirrorControl {
    return {
      verify: async () => (await this.verifyReport()).differences,
      verifyReport: () => this.verifyReport(),
      fullsync: async () => undefined,
      status: () => ({ engine: 'prim', last: { state: 'syncing', mode: 'journal', shipped_bytes: 10, pending_bytes: 1000, pending_files: 2, rate_bytes_per_s: 500, eta_s: 2 } as never, copy_complete: true, bytes_applied: null, ops_applied: null, foreign_refused: null, link: 'up', journal_emptied_ms: this.journalEmptied_ms }),
    };
  }

  private async verifyReport(): Promise<{ differences: TreeDifference[]; files_compared: number; bytes_compared: number }> {
    if (this.verifyDelay_ms > 0) await new Promise((r) => setTimeout(r, this.verifyDelay_ms));
    return { differences: [...this.verifyDifferences], files_compared: 42, bytes_compared: 4_200_000 };
  }

  status(m: string): ModuleStatus {
    if (this.approval) return { module: m, mode: 'mirror', state: 'WAIT', status: 'Approval', epoch: 3, copyComplete: true, failover: this.failover, boot: this.boot, peers: [{ node: 'n2', reachable: false, lansUp: [], state: null, status: null }], last_error: null, approval: { ...this.approval } };
    const n2 = this.peerHeard ? { node: 'n2', reachable: true, lansUp: [0, 1], state: 'SECOND' as const, status: 'Ready' as const } : { node: 'n2', reachable: false, lansUp: [], state: 'SECOND' as const, status: 'Ready' as const, silent_ms: this.peerSilent_ms };
    return { module: m, mode: 'mirror', state: this.state, status: 'Ready', epoch: 3, copyComplete: true, failover: this.failover, boot: this.boot, peers: [n2], last_error: null };
  }

  target(node: string): ControlTarget {
    return {
      node,
      moduleNames: () => ['m1'],
      notLoaded: () => [],
      moduleStatus: (m) => this.status(m),
      moduleCommand: async (m, c) => {
        if (c.kind === 'start' && this.state !== 'STOP') throw new HakitError('HAKIT_E_MODULE_ALREADY_STARTED', 'already started', `module ${m}`);
        if ((c.kind === 'approve' || c.kind === 'deny') && !this.approval) throw new HakitError('HAKIT_E_FAILOVER_NOT_WAITING', 'not waiting for approval', `module ${m}`);
        if (c.kind === 'approve') {
          this.approval = null;
          this.state = 'ALONE';
        }
        if (c.kind === 'deny' && this.approval) this.approval = { ...this.approval, timer_left_ms: null, denied: true };
        if (c.kind === 'failover') this.failover = c.on;
        if (c.kind === 'boot') this.boot = c.on;
        this.commands.push({ module: m, command: c });
      },
      logLevel: () => this.level as never,
      setLogLevel: (l) => {
        this.level = l;
      },
      info: () => ({ node }),
    };
  }

  /** The dispatch a daemon gives the control socket: the real handler, plus fake monitor/mirror answers. */
  dispatch(node: string): (cmd: string, args: Record<string, unknown>) => Promise<unknown> {
    const control = makeControlHandler(this.target(node));
    // The daemon's own mirror-command handler and verify records, over the fake engine.
    const mirror = makeMirrorHandler({ node, moduleNames: () => ['m1'], mirror: () => this.mirrorControl(), verify_records: new VerifyRecords(this.mirror_state_dir) });
    return async (cmd, args) => {
      if (cmd === 'mirrorstatus' || cmd === 'rfsverify' || cmd === 'fullsync') return mirror({ id: 1, cmd, args });
      if (cmd === 'reload') {
        this.reloads++;
        return { started: false, nodes_added: [], nodes_removed: [], modules_added: [], modules_removed: [], modules_reloaded: [], modules_pending: [] };
      }
      if (cmd === 'resources' || cmd === 'resource-set' || cmd === 'monitor-switch' || cmd === 'mirrorstatus' || cmd === 'rfsverify' || cmd === 'fullsync') {
        if (args['module'] !== 'm1') throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `no module "${String(args['module'])}"`, `node ${node}`);
        if (cmd === 'resource-set') this.resource = args['value'] as 'up' | 'down';
        if (cmd === 'monitor-switch') {
          if (args['what'] === 'checkers') this.checkers = args['on'] === true;
          if (args['what'] === 'errd') this.errd = args['on'] === true;
          return { module: 'm1', what: args['what'], on: args['on'] };
        }
        return {
          module: 'm1',
          errd: this.errd,
          checkers: this.checkers,
          held: [],
          last_rule: null,
          resources: [{ name: 'ping.router', class: 'ping', state: this.resource, since_ms_ago: 5, source: 'checker', action: 'wait', rule: null, active: true, targets: [] }],
        };
      }
      return control({ id: 1, cmd, args });
    };
  }
}

export interface Started {
  readonly server: ApiServer;
  readonly port: number;
  readonly daemon: FakeDaemon;
  readonly conf_dir: string;
  readonly log_dir: string;
  readonly tls: TlsMaterial;
}

export async function startFakeApi(fx: TlsFixture, opts: { poll_ms?: number; cluster_key?: Buffer; module_env?: NodeJS.ProcessEnv; push_module?: ApiServerOptions['push_module']; whatif?: ApiBackend['whatif']; peer_client?: ApiServerOptions['peer_client'] } = {}): Promise<Started> {
  const daemon = new FakeDaemon();
  const log_dir = tempDir('hakit-api-log-');
  fs.mkdirSync(path.join(log_dir, 'modules'), { recursive: true });
  const backend: ApiBackend = {
    node: 'n1',
    cluster_name: 'test',
    nodes: () => [
      { name: 'n1', addresses: [{ lan: 'default', addr: '127.0.0.1' }] },
      { name: 'n2', addresses: [{ lan: 'default', addr: '127.0.0.2' }] },
    ],
    call: daemon.dispatch('n1'),
    log_dir,
    ...(opts.whatif ? { whatif: opts.whatif } : {}),
  };
  const server = new ApiServer({
    backend,
    conf_dir: fx.conf_dir,
    tls: fx.tls,
    host: '127.0.0.1',
    port: 0,
    cluster_key: opts.cluster_key ?? null,
    peers: () => [],
    audit: new AuditLog(auditPath(log_dir)),
    log: SILENT_LOG,
    product_version: 'test',
    poll_ms: opts.poll_ms,
    relay_peers: false,
    // A private module store: the Configuration routes never touch this machine's /var/lib/hakit.
    module_env: opts.module_env ?? { HAKIT_CONF_DIR: fx.conf_dir, HAKIT_STATE_DIR: tempDir('hakit-api-state-') },
    push_module: opts.push_module,
    ...(opts.peer_client ? { peer_client: opts.peer_client } : {}),
  });
  const { port } = await server.start();
  openServers++;
  const close = server.close.bind(server);
  let closed = false;
  server.close = async (): Promise<void> => {
    try {
      await close();
    } finally {
      if (!closed) { closed = true; openServers--; removeIfDone(); }
    }
  };
  return { server, port, daemon, conf_dir: fx.conf_dir, log_dir, tls: fx.tls };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  readonly text: string;
}

export function call(port: number, ca: string | null, method: string, p: string, o: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string>; timeout_ms?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = o.raw !== undefined ? o.raw : o.body !== undefined ? JSON.stringify(o.body) : undefined;
    const headers: Record<string, string> = { ...(payload !== undefined && o.raw === undefined ? { 'content-type': 'application/json' } : {}), ...(o.headers ?? {}) };
    const req = https.request({ host: '127.0.0.1', port, method, path: p, headers, ca: ca ?? undefined, agent: false, timeout: o.timeout_ms ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

export function codeOf(a: Answer): string | undefined {
  return (a.body as { error?: { code?: string } } | null)?.error?.code;
}
