// A two-node lab running the real hakitd (built JS from dist/) with the example module
// mirror_http, its replicated directory captured by real FUSE inside each node's mount view.
// Each test names its own lab (mirror-lab tests `tm…`, others their own prefix).
import { writeHostFile } from '../lab/testkit';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Lab } from '../lab';
import { until } from '../support/until';
export { until };

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const NODE = process.execPath;
export const DAEMON_JS = path.join(REPO_ROOT, 'dist/core/daemon/main.js');
export const CLI_JS = path.join(REPO_ROOT, 'dist/core/cli/main.js');
export const MODULE = 'mirror_http';
export const DATA_DIR = '/srv/mirror_http/data';
export const RECORDS = `${DATA_DIR}/records.log`;
export const APP_PORT = 9080;
/** The padding of the writer's records: `<prefix><n>-` + PAD, one line each. */
export const PAD = 'x'.repeat(40);

/** A client appending numbered records through the VIP (MirrorLab.startWriter). */
export interface RecordWriter {
  readonly child: ChildProcess;
  /** Record numbers the application answered 200 to (after its fsync), in order. */
  readonly acked: number[];
  readonly acked_at_ms: number[];
  attempts(): number;
}
const EXAMPLE = path.join(REPO_ROOT, 'modules/examples/mirror_http');
const KEY = 'tm-lab-cluster-key-0123456789abcdef';

export interface MirrorLabOptions {
  /** A second LAN (`hb`, lab LAN 1) carrying heartbeats only, the module's too: cutting LAN 0
   *  then cuts the replication link while both nodes still see each other. */
  readonly heartbeatLan?: boolean;
  /** Attributes added to the example's `<rfs>` (e.g. `acktimeout="2s"`). */
  readonly rfsAttrs?: string;
}

/** Calls `f` with each whole line the stream prints (a child's stdout). */
export function onLines(stream: Readable, f: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) f(l);
  });
}

export class MirrorLab {
  readonly daemons = new Map<string, ChildProcess>();
  private readonly writers: ChildProcess[] = [];
  vip = '';
  private constructor(readonly lab: Lab, private readonly opts: MirrorLabOptions) {}

  static async up(name: string, opts: MirrorLabOptions = {}): Promise<MirrorLab> {
    if (!fs.existsSync(DAEMON_JS)) throw new Error(`${DAEMON_JS} missing: run npm run build first`);
    await Lab.destroy(name);
    const m = new MirrorLab(await Lab.up({ name, nodes: 2, client: true, lans: opts.heartbeatLan ? 2 : 1 }), opts);
    m.vip = m.lab.spareAddr(0, 50);
    await m.install();
    return m;
  }

  private clusterXml(): string {
    const nodes = (lan: number): string => ['node1', 'node2'].map((n) => `    <node name="${n}" addr="${this.lab.addr(n, lan)}" port="9010"/>`).join('\n');
    const hb = this.opts.heartbeatLan ? `  <lan name="hb" command="off">\n${nodes(1)}\n  </lan>\n` : '';
    return `<cluster name="tm">\n  <lan name="default" replication="on">\n${nodes(0)}\n  </lan>\n${hb}</cluster>\n`;
  }

  /** The example's userconfig with this lab's VIP (and its heartbeats on `hb` too, and `rfsAttrs`). */
  private userconfig(): string {
    const example = fs.readFileSync(path.join(EXAMPLE, 'conf/userconfig.xml'), 'utf8').replace(/(<macro name="VIRTUAL_IP" value=")[^"]*"/, `$1${this.vip}"`);
    const text = this.opts.rfsAttrs === undefined ? example : example.replace(/<rfs /, `<rfs ${this.opts.rfsAttrs} `);
    return this.opts.heartbeatLan ? text.replace(/(<heartbeat name="default"[^>]*\/>)/, '$1<heartbeat name="hb"/>') : text;
  }

  async write(host: string, file: string, text: string, mode = '644'): Promise<void> {
    await writeHostFile(this.lab, host, file, text, mode);
  }

  private async install(): Promise<void> {
    for (const h of ['node1', 'node2']) {
      await this.write(h, '/etc/hakit/cluster.key', KEY, '600');
      await this.write(h, '/etc/hakit/cluster.xml', this.clusterXml());
      const dir = `/var/lib/hakit/modules/${MODULE}`;
      await this.write(h, `${dir}/conf/userconfig.xml`, this.userconfig());
      for (const f of fs.readdirSync(path.join(EXAMPLE, 'bin'))) {
        await this.write(h, `${dir}/bin/${f}`, fs.readFileSync(path.join(EXAMPLE, 'bin', f), 'utf8'), f.endsWith('.js') ? '644' : '755');
      }
      await this.sh(h, `mkdir -p ${DATA_DIR}`);
    }
  }

  startDaemon(host: string): void {
    const c = this.lab.spawn(host, [NODE, DAEMON_JS, '--node', host, '--log-level', 'debug'], { stdio: 'ignore', env: { ...process.env, HAKIT_NODE_BIN: NODE } });
    this.daemons.set(host, c);
  }

  async sh(host: string, script: string, timeout_ms = 30_000): Promise<{ code: number; out: string; err: string }> {
    const r = await this.lab.exec(host, ['sh', '-c', script], { timeout_ms });
    return { code: r.code ?? -1, out: r.stdout, err: r.stderr };
  }

  async hakit(host: string, args: string[], timeout_ms = 60_000): Promise<{ code: number; out: string }> {
    const r = await this.lab.exec(host, [NODE, CLI_JS, ...args], { timeout_ms });
    return { code: r.code ?? -1, out: r.stdout + r.stderr };
  }

  async state(host: string): Promise<{ state: string; status: string; copyComplete: boolean } | null> {
    const r = await this.hakit(host, ['state', '-m', MODULE, '--json'], 5000);
    if (r.code !== 0) return null;
    try {
      const m = (JSON.parse(r.out) as { modules: Array<{ state: string; status: string; copyComplete: boolean }> }).modules[0];
      return m ?? null;
    } catch {
      return null;
    }
  }

  async is(host: string, state: string): Promise<boolean> {
    const s = await this.state(host);
    return s !== null && s.state === state && s.status === 'Ready';
  }

  async mirrorStatus(host: string): Promise<Record<string, unknown>> {
    const js = `const c=require(${JSON.stringify(path.join(REPO_ROOT, 'dist/core/control/client.js'))});const p=require(${JSON.stringify(path.join(REPO_ROOT, 'dist/core/control/paths.js'))});c.controlRequest(p.controlSocketPath(process.env),'mirrorstatus',{module:'${MODULE}'},5000).then((r)=>console.log(JSON.stringify(r)),(e)=>{console.log(JSON.stringify({error:e.message}))})`;
    const r = await this.lab.exec(host, [NODE, '-e', js], { timeout_ms: 10_000 });
    return JSON.parse(r.stdout.trim() || '{}') as Record<string, unknown>;
  }

  /** A client on the lab's client host appending records `<prefix><n>-PAD` through the VIP,
   *  one at a time; each one the application answered 200 (after its fsync) is acknowledged. */
  startWriter(prefix: string): RecordWriter {
    const js = `
const http=require('http');let n=0;let stop=false;process.on('SIGTERM',()=>{stop=true});
function one(){if(stop){process.exit(0)}const k=++n;const body='${prefix}'+k+'-${PAD}';
const r=http.request({host:'${this.vip}',port:${APP_PORT},method:'POST',timeout:1500,agent:false},(s)=>{s.resume();s.on('end',()=>{if(s.statusCode===200)console.log('ack '+k);else console.log('status '+k+' '+s.statusCode);setImmediate(one)})});
r.on('error',()=>{console.log('err '+k);setTimeout(one,50)});r.on('timeout',()=>r.destroy());r.end(body)}
one();`;
    const child = this.lab.spawn('client', [NODE, '-e', js], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.writers.push(child);
    const acked: number[] = [];
    const acked_at_ms: number[] = [];
    let attempts = 0;
    onLines(child.stdout!, (l) => {
      attempts++;
      const a = /^ack (\d+)$/.exec(l);
      if (a) { acked.push(Number(a[1])); acked_at_ms.push(Date.now()); }
    });
    return { child, acked, acked_at_ms, attempts: () => attempts };
  }

  async stopWriter(w: { child: ChildProcess }): Promise<void> {
    if (w.child.exitCode !== null) return;
    const gone = new Promise((r) => w.child.once('exit', r));
    w.child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }

  /** The record numbers of `prefix` (letters, digits, dashes) in the host's records file (or `file`). */
  async recordsOf(host: string, prefix: string, file = RECORDS): Promise<Set<number>> {
    const text = (await this.sh(host, `grep -a "^${prefix}" ${file} || true`)).out;
    const re = new RegExp(`^${prefix}(\\d+)-${PAD}$`); // prefixes are letters, digits and dashes
    return new Set(text.split('\n').map((l) => re.exec(l)).filter((x) => x !== null).map((x) => Number(x[1])));
  }

  /** Waits for one node PRIM and the other SECOND with a complete copy, both Ready. */
  async primAndSecond(timeout_ms = 90_000): Promise<[string, string]> {
    let roles: [string, string] | null = null;
    await until(
      'one node PRIM and the other SECOND, both Ready',
      async () => {
        const [a, b] = [await this.state('node1'), await this.state('node2')];
        if (a?.state === 'PRIM' && a.status === 'Ready' && b?.state === 'SECOND' && b.status === 'Ready' && b.copyComplete) roles = ['node1', 'node2'];
        else if (b?.state === 'PRIM' && b.status === 'Ready' && a?.state === 'SECOND' && a.status === 'Ready' && a.copyComplete) roles = ['node2', 'node1'];
        return roles !== null;
      },
      timeout_ms,
      () => this.bothLogs(),
    );
    return roles!;
  }

  /** Starts the module on both nodes, node1 PRIM (operator `prim`) and node2 SECOND (`second`),
   *  and waits until node1 is PRIM and node2 an in-sync SECOND, both Ready. */
  async startPrimOnNode1(fail: () => Promise<string>): Promise<void> {
    for (const h of ['node1', 'node2']) expect((await this.hakit(h, ['start', '-m', MODULE])).code).toBe(0);
    expect((await this.hakit('node1', ['prim', '-m', MODULE])).out).toMatch(/accepted|ALONE|PRIM/);
    await until('node1 serves', async () => (await this.is('node1', 'ALONE')) || (await this.is('node1', 'PRIM')), 30_000, fail);
    expect((await this.hakit('node2', ['second', '-m', MODULE])).out).toMatch(/accepted|SECOND/);
    expect(await this.primAndSecond()).toEqual(['node1', 'node2']);
  }

  /** Both nodes' `state --json` and module log tails, for a failure message. */
  async failureReport(): Promise<string> {
    const states = await Promise.all(['node1', 'node2'].map(async (h) => `${h}: ${(await this.hakit(h, ['state', '-m', MODULE, '--json'], 5000)).out}`));
    return `${states.join('\n')}\n${await this.bothLogs()}`;
  }

  /** A lab with hakitd started on both nodes, once both answer. */
  static async withDaemons(name: string, opts: MirrorLabOptions = {}): Promise<MirrorLab> {
    const m = await MirrorLab.up(name, opts);
    for (const h of ['node1', 'node2']) m.startDaemon(h);
    await until('daemons answer', async () => (await m.state('node1')) !== null && (await m.state('node2')) !== null, 30_000);
    return m;
  }

  /** Both nodes' module log tails, for a failure message. */
  async bothLogs(): Promise<string> {
    return `node1:\n${await this.logTail('node1')}\nnode2:\n${await this.logTail('node2')}`;
  }

  /** Module log tail (for failure messages). */
  async logTail(host: string, lines = 60): Promise<string> {
    return (await this.sh(host, `tail -n ${lines} /var/log/hakit/modules/${MODULE}.log 2>/dev/null || ls -R /var/log/hakit`)).out;
  }

  /** Power cut of a node: every process dies, its FUSE mounts are aborted, links down. */
  async powerCut(host: string): Promise<void> {
    const d = this.daemons.get(host);
    await this.lab.kill(host);
    this.daemons.delete(host);
    if (d && d.exitCode === null) d.kill('SIGKILL');
  }

  async powerOnAndStart(host: string): Promise<void> {
    await this.lab.powerOn(host);
    this.startDaemon(host);
  }

  async down(): Promise<void> {
    for (const w of this.writers) if (w.exitCode === null) w.kill('SIGKILL');
    for (const h of ['node1', 'node2']) {
      // hakitd stops its module (stop_prim, unmount) on SIGTERM; a power cut catches the rest.
      const d = this.daemons.get(h);
      if (d && d.exitCode === null) d.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const h of ['node1', 'node2']) await this.lab.kill(h).catch(() => undefined);
    await this.lab.down();
  }
}

