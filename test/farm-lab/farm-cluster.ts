// A farm cluster in the lab for the farm-life tests and the farm benchmark: real hakitd (built
// JS in dist/) on N nodes with the example module modules/examples/farm_http (its VIP moved to
// a spare lab address), and a client namespace with
// several addresses running FARM_CLIENT_JS.
import { writeHostFile } from '../lab/testkit';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Lab } from '../lab';
import { jsonLineDriver, type ClientDriver } from '../filters/netns-fixture';
import { FARM_CLIENT_JS } from './client-js';

/** The repository (this file runs from test/ under jest and from dist/test/ in the benchmark). */
export const REPO_ROOT = path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? path.resolve(__dirname, '..', '..', '..') : path.resolve(__dirname, '..', '..');
const DIST = path.join(REPO_ROOT, 'dist');
export const DAEMON_JS = path.join(DIST, 'core/daemon/main.js');
export const CLI_JS = path.join(DIST, 'core/cli/main.js');
const EXAMPLE = path.join(REPO_ROOT, 'modules/examples/farm_http');
export const MODULE = 'farm_http';
export const HTTP_PORT = 9081;
export const UDP_PORT = 9082;
const KEY = 'farm-lab-cluster-key-0123456789abcdef';
const NODE = process.execPath;
/** Spare-address slots of the lab LAN: the VIP, then the client's extra addresses. */
const VIP_SLOT = 60;
const CLIENT_SLOT = 70;
/** Bounds of the helpers' own waits. */
const EXEC_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 50;
/** Tail of a daemon's stderr printed at down(). */
const STDERR_SHOWN_BYTES = 4096;
const MAX_POLLS = 4000;

export interface FarmNodeState {
  state: string;
  status: string;
  farm?: { share: string; members: string[]; counts: Record<string, number>; filter: string; waiting_for: string[]; error: { code: string } | null };
}

/** Test-only custom checker: fails once (and clears the flag) when RESTART_FLAG exists. */
export const RESTART_FLAG = '/run/hakit/farm_http-restart-flag';
const RESTART_CHECKER = `#!/bin/sh
# Test only: reports a failure once when the flag file exists, so the rule restarts the module.
if [ -e ${RESTART_FLAG} ]; then rm -f ${RESTART_FLAG}; exit 1; fi
exit 0
`;

export interface FarmOptions {
  /** Heartbeat profile of the farm (<heart profile=…>); default: no <heart> (the default profile). */
  readonly profile?: 'default' | 'fast';
  /** Adds a custom checker (bin/restart_flag, action restart) that RESTART_FLAG triggers. */
  readonly restartChecker?: boolean;
}

/** The example's userconfig with the lab VIP and the options' <heart> and checker. */
export function exampleUserconfig(vip: string, o: FarmOptions = {}): string {
  let text = fs.readFileSync(path.join(EXAMPLE, 'conf/userconfig.xml'), 'utf8');
  text = text.replace(/<macro name="VIRTUAL_IP" value="[^"]*"\/>/, `<macro name="VIRTUAL_IP" value="${vip}"/>`);
  if (o.profile) text = text.replace(/(<service [^>]*>)/, `$1\n    <heart profile="${o.profile}"><heartbeat name="default"/></heart>`);
  if (o.restartChecker) {
    text = text.replace('</check>', '  <custom ident="flag" when="both" action="restart" exec="restart_flag" interval="300ms" timeout="250ms" fall="1"/>\n    </check>');
  }
  return text;
}

export class FarmCluster {
  readonly daemons = new Map<string, ChildProcess>();
  private readonly children = new Set<ChildProcess>();
  /** The daemons' stderr files (host side), removed by down() after it printed what they hold. */
  private readonly stderrDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-farm-stderr-'));
  client: ClientDriver | undefined;
  /** The last `hakit state` output, for failure messages. */
  lastStateOutput = '';

  private constructor(
    readonly lab: Lab,
    readonly nodes: readonly string[],
    readonly vip: string,
    readonly clientAddrs: readonly string[],
    readonly options: FarmOptions,
  ) {}

  static async up(name: string, nodeCount: number, clientAddrCount: number, options: FarmOptions = {}): Promise<FarmCluster> {
    if (!fs.existsSync(DAEMON_JS)) throw new Error(`${DAEMON_JS} missing: run npm run build first`);
    await Lab.destroy(name);
    const lab = await Lab.up({ name, nodes: nodeCount, client: true });
    const nodes = Array.from({ length: nodeCount }, (_, i) => `node${i + 1}`);
    const addrs = Array.from({ length: clientAddrCount }, (_, i) => lab.spareAddr(0, CLIENT_SLOT + i));
    const c = new FarmCluster(lab, nodes, lab.spareAddr(0, VIP_SLOT), addrs, options);
    try {
      await c.install();
      for (const a of addrs) await c.sh('client', ['ip', 'addr', 'add', `${a}/${lab.prefixLen}`, 'dev', lab.ifname(0)]);
      for (const n of nodes) c.startDaemon(n);
      c.client = jsonLineDriver(await c.spawnReady('client', [NODE, '-e', FARM_CLIENT_JS, c.vip, String(HTTP_PORT), String(UDP_PORT)]));
    } catch (e) {
      await c.down();
      throw e;
    }
    return c;
  }

  async sh(host: string, argv: readonly string[], input?: string): Promise<string> {
    const r = await this.lab.exec(host, argv, { timeout_ms: EXEC_TIMEOUT_MS, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Error(`${host}: ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  private async write(host: string, file: string, text: string, mode = '644'): Promise<void> {
    await writeHostFile(this.lab, host, file, text, mode);
  }

  private async install(): Promise<void> {
    const cluster = `<cluster name="${this.lab.name}">\n  <lan name="default">\n${this.nodes.map((n) => `    <node name="${n}" addr="${this.lab.addr(n, 0)}" port="9010"/>`).join('\n')}\n  </lan>\n</cluster>\n`;
    const dir = `/var/lib/hakit/modules/${MODULE}`;
    for (const n of this.nodes) {
      await this.write(n, '/etc/hakit/cluster.key', KEY, '600');
      await this.write(n, '/etc/hakit/cluster.xml', cluster);
      await this.write(n, `${dir}/conf/userconfig.xml`, exampleUserconfig(this.vip, this.options));
      for (const f of fs.readdirSync(path.join(EXAMPLE, 'bin'))) {
        await this.write(n, `${dir}/bin/${f}`, fs.readFileSync(path.join(EXAMPLE, 'bin', f), 'utf8'), f.endsWith('.js') ? '644' : '755');
      }
      if (this.options.restartChecker) await this.write(n, `${dir}/bin/restart_flag`, RESTART_CHECKER, '755');
    }
  }

  startDaemon(node: string): void {
    // A daemon writes to stderr its lifecycle lines and what it could not log (a crash):
    // down() prints the latter.
    const err = fs.openSync(path.join(this.stderrDir, `${node}.stderr`), 'a');
    const child = this.lab.spawn(node, [NODE, DAEMON_JS, '--node', node, '--log-level', 'debug'], { stdio: ['ignore', 'ignore', err], env: { ...process.env, HAKIT_NODE_BIN: NODE } });
    fs.closeSync(err);
    this.daemons.set(node, child);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  async hakit(node: string, args: readonly string[]): Promise<{ code: number; out: string }> {
    const r = await this.lab.exec(node, [NODE, CLI_JS, ...args], { timeout_ms: EXEC_TIMEOUT_MS });
    return { code: r.code ?? -1, out: r.stdout + r.stderr };
  }

  async state(node: string): Promise<FarmNodeState | null> {
    const r = await this.hakit(node, ['state', '-m', MODULE, '--json']);
    this.lastStateOutput = r.out;
    if (r.code !== 0) return null;
    try {
      return (JSON.parse(r.out) as { modules: FarmNodeState[] }).modules[0] ?? null;
    } catch {
      return null;
    }
  }

  async start(node: string): Promise<void> {
    const r = await this.hakit(node, ['start', '-m', MODULE]);
    if (r.code !== 0) throw new Error(`hakit start on ${node}: ${r.out}`);
  }

  /** Polls until cond holds; returns the ms waited (bounded in polls and time). */
  async until(what: string, cond: () => Promise<boolean>, max_ms: number): Promise<number> {
    const t0 = Date.now();
    for (let i = 0; i < MAX_POLLS && Date.now() - t0 <= max_ms; i++) {
      if (await cond()) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    throw new Error(`not reached within ${max_ms} ms: ${what} (last hakit state: ${this.lastStateOutput.slice(0, 600)})`);
  }

  /** Waits until every listed node is UP/Ready owning exactly its share of the member table. */
  async settled(nodes: readonly string[], max_ms: number): Promise<Record<string, string>> {
    const shares: Record<string, string> = {};
    await this.until(
      `${nodes.join(',')} settled with shares`,
      async () => {
        const states = await Promise.all(nodes.map((n) => this.state(n)));
        return states.every((s, i) => {
          const f = s?.farm;
          const n = nodes[i]!;
          if (!s || s.state !== 'UP' || s.status !== 'Ready' || !f || f.members.join(',') !== [...nodes].sort().join(',')) return false;
          shares[n] = f.share;
          return f.share === `${f.counts[n] ?? -1}/256` && f.waiting_for.length === 0;
        });
      },
      max_ms,
    );
    return shares;
  }

  async spawnReady(host: string, argv: readonly string[]): Promise<ChildProcess> {
    const child = this.lab.spawn(host, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    await new Promise<void>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      const t = setTimeout(() => reject(new Error('client did not print ready')), READY_TIMEOUT_MS);
      rl.once('line', (l) => {
        clearTimeout(t);
        rl.close();
        if (l === 'ready') resolve();
        else reject(new Error(`client said ${l}`));
      });
    });
    return child;
  }

  /** Power cut of a node: links down, every process dead (lab.kill); kernel state stays. */
  async powerCut(node: string): Promise<void> {
    await this.lab.kill(node);
  }

  /** Links back up (lab.powerOn when the lab has it). */
  async powerOn(node: string): Promise<void> {
    const l = this.lab as Lab & { powerOn?: (h: string) => Promise<void> };
    if (typeof l.powerOn === 'function') await l.powerOn(node);
    else await this.sh(node, ['ip', 'link', 'set', this.lab.ifname(0), 'up']);
  }

  async down(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      await this.lab.down();
    } finally {
      this.printAndRemoveStderr();
    }
  }

  private printAndRemoveStderr(): void {
    for (const f of fs.readdirSync(this.stderrDir)) {
      // Past its lifecycle lines (`hakitd: node NODE ready`, `hakitd: SIGTERM: …`), stderr holds only trouble.
      const text = fs.readFileSync(path.join(this.stderrDir, f), 'utf8').replace(/^hakitd: (node \S+ ready|SIG[A-Z0-9]+: .*)\n/gm, '');
      if (text.trim() !== '') console.warn(`${this.lab.name} hakitd ${f} (last 4 KiB):\n${text.slice(-STDERR_SHOWN_BYTES)}`);
    }
    fs.rmSync(this.stderrDir, { recursive: true, force: true });
  }
}
