// A lab cluster running the real, built hakitd (dist/) on each node, for the failure-detection
// lab tests: writes cluster.xml and the key, installs a test copy of an example module (its
// userconfig rewritten by the caller), starts/kills daemons, runs the built `hakit` CLI on a node
// and waits (bounded) for states. Every process it starts is killed by pid in `down()`.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../lab';
import { closed } from '../lab/testkit';
import { DIST_DIR, REPO_ROOT } from '../support/dist';
import { until } from '../support/until';
export { until };

export { REPO_ROOT };
const DAEMON_JS = path.join(DIST_DIR, 'core/daemon/main.js');
export const CLI_JS = path.join(DIST_DIR, 'core/cli/main.js');
const NODE = process.execPath;
const KEY = 'checkers-lab-key-0123456789abcdef';
/** Bound on one CLI call (nagios must answer far faster; waitstate passes its own timeout). */
const CLI_TIMEOUT_MS = 30_000;
/** How long a killed daemon gets to disappear. */
const DAEMON_EXIT_WAIT_MS = 5_000;

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface ModuleStatusLite {
  readonly state: string;
  readonly status: string;
}

export function distBuilt(): boolean {
  return fs.existsSync(DAEMON_JS) && fs.existsSync(CLI_JS);
}

export class HakitCluster {
  readonly lab: Lab;
  readonly nodes: readonly string[];
  private readonly daemons = new Map<string, ChildProcess>();
  private readonly others: ChildProcess[] = [];

  private constructor(lab: Lab, nodes: readonly string[]) {
    this.lab = lab;
    this.nodes = nodes;
  }

  /** A fresh lab (a crashed run's lab of that name is removed first) with cluster.xml and the key on every node. */
  static async up(name: string, nodes: number): Promise<HakitCluster> {
    await Lab.destroy(name);
    const lab = await Lab.up({ name, nodes, client: true, witness: true, lans: 1 });
    const names = Array.from({ length: nodes }, (_, i) => `node${i + 1}`);
    const c = new HakitCluster(lab, names);
    const xml = `<cluster name="${name}">\n  <lan name="default">\n${names.map((n) => `    <node name="${n}" addr="${lab.addr(n, 0)}"/>`).join('\n')}\n  </lan>\n</cluster>\n`;
    for (const n of names) {
      await c.write(n, '/etc/hakit/cluster.key', KEY, '600');
      await c.write(n, '/etc/hakit/cluster.xml', xml);
    }
    return c;
  }

  async write(host: string, file: string, text: string, mode = '644'): Promise<void> {
    const r = await this.lab.exec(host, ['sh', '-c', `mkdir -p "$(dirname "$1")" && cat > "$1" && chmod ${mode} "$1"`, 'sh', file], { input: text });
    if (r.code !== 0) throw new Error(`write ${host}:${file}: ${r.stderr}`);
  }

  /** Installs modules/examples/EXAMPLE as module NAME on every node, with its userconfig text rewritten, plus extra bin files. */
  async installExample(example: string, name: string, userconfig: string, extraBin: Record<string, string> = {}, dirs: readonly string[] = []): Promise<void> {
    const src = path.join(REPO_ROOT, 'modules/examples', example, 'bin');
    for (const n of this.nodes) {
      const dir = `/var/lib/hakit/modules/${name}`;
      for (const d of dirs) await this.lab.exec(n, ['mkdir', '-p', d]);
      await this.write(n, `${dir}/conf/userconfig.xml`, userconfig);
      for (const f of fs.readdirSync(src)) {
        const mode = (fs.statSync(path.join(src, f)).mode & 0o111) !== 0 ? '755' : '644';
        await this.write(n, `${dir}/bin/${f}`, fs.readFileSync(path.join(src, f), 'utf8'), mode);
      }
      for (const [f, text] of Object.entries(extraBin)) await this.write(n, `${dir}/bin/${f}`, text, '755');
    }
  }

  startDaemon(host: string): void {
    const old = this.daemons.get(host);
    if (old && old.exitCode === null && old.signalCode === null) throw new Error(`hakitd already runs on ${host}`);
    const c = this.lab.spawn(host, [NODE, DAEMON_JS, '--node', host, '--log-level', 'debug'], { stdio: 'ignore', env: { ...process.env, HAKIT_NODE_BIN: NODE } });
    this.daemons.set(host, c);
  }

  /** kill -9 of hakitd only (its module's application keeps running, as after a daemon crash). */
  async killDaemon(host: string): Promise<void> {
    const c = this.daemons.get(host);
    if (!c) return;
    c.kill('SIGKILL');
    await closed(c, DAEMON_EXIT_WAIT_MS);
  }

  /** Runs the built `hakit` CLI on a node. */
  async hakit(host: string, args: readonly string[], timeout_ms = CLI_TIMEOUT_MS): Promise<CliResult> {
    const r = await this.lab.exec(host, [NODE, CLI_JS, ...args], { timeout_ms });
    return { code: r.code ?? -1, out: r.stdout, err: r.stderr };
  }

  /** Starts a long-running process on a node (killed in `down()`). */
  spawn(host: string, argv: readonly string[]): ChildProcess {
    const c = this.lab.spawn(host, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.others.push(c);
    return c;
  }

  async status(host: string, module: string): Promise<ModuleStatusLite | null> {
    const r = await this.hakit(host, ['state', '-m', module, '--json']);
    if (r.code !== 0) return null;
    const m = (JSON.parse(r.out) as { modules: ModuleStatusLite[] }).modules[0];
    return m ? { state: m.state, status: m.status } : null;
  }

  /** "PRIM" when settled, "PRIM~" while scripts run, "down" when hakitd does not answer. */
  async stateOf(host: string, module: string): Promise<string> {
    const s = await this.status(host, module);
    if (s === null) return 'down';
    return s.status === 'Transient' ? `${s.state}~` : s.state;
  }

  async states(module: string): Promise<string[]> {
    return Promise.all(this.nodes.map((n) => this.stateOf(n, module)));
  }

  /** Waits until every node's settled state is the one wanted ('*': any), bounded by max_ms; returns the time taken. */
  async waitStates(module: string, wanted: readonly string[], max_ms: number): Promise<number> {
    let last: string[] = [];
    return until(
      `${module} ${wanted.join('/')}`,
      async () => {
        last = await this.states(module);
        return wanted.every((w, i) => w === '*' || last[i] === w);
      },
      max_ms,
      () => `last seen ${last.join('/')}`,
    );
  }

  /** pids of the processes on a node whose command line contains `needle` (the CLI and pgrep excluded). */
  async pidsOf(host: string, needle: string): Promise<number[]> {
    const r = await this.lab.exec(host, ['pgrep', '-f', needle]);
    const mine = new Set(this.lab.pids(host));
    return r.stdout
      .split('\n')
      .map((s) => Number(s))
      .filter((p) => Number.isInteger(p) && p > 0 && mine.has(p));
  }

  async tail(host: string, file: string): Promise<string> {
    return (await this.lab.exec(host, ['cat', file])).stdout;
  }

  async down(): Promise<void> {
    for (const c of [...this.daemons.values(), ...this.others]) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await closed(c, DAEMON_EXIT_WAIT_MS);
    }
    await this.lab.down();
  }
}

