// The hostile-peer lab: two nodes running the real hakitd (built JS from dist/) with the
// example module mirror_http (FUSE capture, replication on LAN 0 "default", heartbeats on both
// LANs), a client namespace for the attacker and, optionally, a real hakit-witness bound to the
// nodes' addresses. Lab names carry the prefix `th`.
import { writeHostFile } from '../../lab/testkit';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../../lab';
import { distPath } from '../../support/dist';
import { until } from '../../support/until';
export { until };

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const NODE = process.execPath;
export const MODULE = 'mirror_http';
export const DATA_DIR = '/srv/mirror_http/data';
export const NODES = ['node1', 'node2'] as const;
const EXAMPLE = path.join(REPO_ROOT, 'modules/examples/mirror_http');
const KEY = 'th-lab-cluster-key-0123456789abcdef';

export interface ModuleView {
  state: string;
  status: string;
  replication?: string;
  peers: { node: string; reachable: boolean; state: string | null }[];
}

export class HostileLab {
  readonly daemons = new Map<string, ChildProcess>();
  witness: ChildProcess | undefined;
  vip = '';
  private constructor(readonly lab: Lab, readonly withWitness: boolean) {}

  static async up(name: string, withWitness: boolean): Promise<HostileLab> {
    await Lab.destroy(name);
    const h = new HostileLab(await Lab.up({ name, nodes: 2, client: true, witness: withWitness, lans: 2 }), withWitness);
    h.vip = h.lab.spareAddr(0, 50);
    await h.install();
    return h;
  }

  private clusterXml(): string {
    const lan = (name: string, i: number, extra: string): string =>
      `  <lan name="${name}"${extra}>\n${NODES.map((n) => `    <node name="${n}" addr="${this.lab.addr(n, i)}" port="9010"/>`).join('\n')}\n  </lan>`;
    return `<cluster name="th">\n${lan('default', 0, ' replication="on"')}\n${lan('lan1', 1, '')}\n</cluster>\n`;
  }

  private userconfig(): string {
    let text = fs.readFileSync(path.join(EXAMPLE, 'conf/userconfig.xml'), 'utf8');
    text = text.replace(/(<macro name="VIRTUAL_IP" value=")[^"]*"/, `$1${this.vip}"`);
    text = text.replace('</heart>', '  <heartbeat name="lan1"/>\n    </heart>');
    if (this.withWitness) text = text.replace('<check>', `<check>\n      <splitbrain exec="ping" arg="${this.lab.addr('witness', 0)}"/>`);
    return text;
  }

  async write(host: string, file: string, text: string, mode = '644'): Promise<void> {
    await writeHostFile(this.lab, host, file, text, mode);
  }

  private async install(): Promise<void> {
    for (const h of NODES) {
      await this.write(h, '/etc/hakit/cluster.key', KEY, '600');
      await this.write(h, '/etc/hakit/cluster.xml', this.clusterXml());
      const dir = `/var/lib/hakit/modules/${MODULE}`;
      await this.write(h, `${dir}/conf/userconfig.xml`, this.userconfig());
      for (const f of fs.readdirSync(path.join(EXAMPLE, 'bin'))) {
        await this.write(h, `${dir}/bin/${f}`, fs.readFileSync(path.join(EXAMPLE, 'bin', f), 'utf8'), f.endsWith('.js') ? '644' : '755');
      }
      await this.sh(h, `mkdir -p ${DATA_DIR}`);
    }
    if (this.withWitness) await this.write('witness', '/etc/hakit/cluster.key', KEY, '600');
  }

  startDaemon(host: string): void {
    const c = this.lab.spawn(host, [NODE, distPath('core/daemon/main.ts'), '--node', host, '--log-level', 'debug'], { stdio: 'ignore', env: { ...process.env, HAKIT_NODE_BIN: NODE } });
    this.daemons.set(host, c);
  }

  /** hakit-witness bound to both nodes' addresses (it hears and answers them only there). */
  startWitness(): void {
    const nodes = NODES.flatMap((n) => ['--node', `${n}=${this.lab.addr(n, 0)},${this.lab.addr(n, 1)}`]);
    this.witness = this.lab.spawn('witness', [NODE, distPath('core/witness/main.ts'), '--address', this.lab.addr('witness', 0), '--key-file', '/etc/hakit/cluster.key', '--state-dir', '/var/lib/hakit', ...nodes], { stdio: 'ignore' });
  }

  async killWitness(): Promise<void> {
    const w = this.witness;
    this.witness = undefined;
    if (w && w.exitCode === null) {
      w.kill('SIGKILL');
      await new Promise((r) => w.once('exit', r));
    }
  }

  /** kill -9 of hakitd only (the kernel, mounts and the application stay). */
  async killDaemon(host: string): Promise<void> {
    const d = this.daemons.get(host);
    this.daemons.delete(host);
    if (d && d.exitCode === null) {
      d.kill('SIGKILL');
      await new Promise((r) => d.once('exit', r));
    }
  }

  async sh(host: string, script: string, timeout_ms = 30_000): Promise<{ code: number; out: string; err: string }> {
    const r = await this.lab.exec(host, ['sh', '-c', script], { timeout_ms });
    return { code: r.code ?? -1, out: r.stdout, err: r.stderr };
  }

  async hakit(host: string, args: string[], timeout_ms = 60_000): Promise<{ code: number; out: string }> {
    const r = await this.lab.exec(host, [NODE, distPath('core/cli/main.ts'), ...args], { timeout_ms });
    return { code: r.code ?? -1, out: r.stdout + r.stderr };
  }

  async view(host: string): Promise<ModuleView | null> {
    const r = await this.hakit(host, ['state', '-m', MODULE, '--json'], 5000);
    if (r.code !== 0) return null;
    try {
      return (JSON.parse(r.out) as { modules: ModuleView[] }).modules[0] ?? null;
    } catch {
      return null;
    }
  }

  /** A control request on a host through the built client (e.g. `ping` for drop counters, `mirrorstatus`). */
  async control(host: string, cmd: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const js = `const c=require(${JSON.stringify(path.join(REPO_ROOT, 'dist/core/control/client.js'))});const p=require(${JSON.stringify(path.join(REPO_ROOT, 'dist/core/control/paths.js'))});c.controlRequest(p.controlSocketPath(process.env),${JSON.stringify(cmd)},${JSON.stringify(args)},5000).then((r)=>console.log(JSON.stringify(r)),(e)=>{console.log(JSON.stringify({error:e.message}))})`;
    const r = await this.lab.exec(host, [NODE, '-e', js], { timeout_ms: 10_000 });
    return JSON.parse(r.stdout.trim() || '{}') as Record<string, unknown>;
  }

  async logTail(host: string, lines = 40): Promise<string> {
    return (await this.sh(host, `tail -n ${lines} /var/log/hakit/modules/${MODULE}.log; tail -n ${lines} /var/log/hakit/hakitd.log`)).out;
  }

  async down(): Promise<void> {
    await this.killWitness();
    for (const h of NODES) {
      const d = this.daemons.get(h);
      if (d && d.exitCode === null) d.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const h of NODES) await this.lab.kill(h).catch(() => undefined);
    await this.lab.down();
  }
}

