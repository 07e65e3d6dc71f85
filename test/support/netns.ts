// Network namespaces for tests that do not need a whole lab: create one by name (with lo up),
// join two with a veth pair, run a command inside, delete it by name. Each test picks names
// with its own prefix (`hm-` mirror, `hd` daemon) so parallel runs never collide; nothing
// here touches a namespace it was not given.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { distPath, REPO_ROOT } from './dist';

/** No ip/nft/sysctl call of a test should take this long; a hang becomes an error (callers
 *  running a workload pass their own bound). */
export const SH_TIMEOUT_MS = 15_000;
/** The kernel's limit on an interface name (IFNAMSIZ - 1). */
const IFNAME_MAX_CHARS = 15;

export interface ShResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv (bounded); throws naming the command when it fails, unless `allowFail`. */
export function sh(argv: readonly string[], allowFail = false, timeout_ms = SH_TIMEOUT_MS): ShResult {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('sh: empty command');
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeout_ms });
  const res = { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!allowFail && res.code !== 0) throw new Error(`${argv.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res;
}

/** One network namespace of the test's own, known by name. */
export class Netns {
  constructor(readonly name: string) {}

  /** Creates it with lo up; a namespace of that name left by a crashed run goes first. */
  up(): this {
    this.down();
    try {
      sh(['ip', 'netns', 'add', this.name]);
      sh(['ip', '-n', this.name, 'link', 'set', 'lo', 'up']);
    } catch (e) {
      this.down();
      throw e;
    }
    return this;
  }

  /** Adds `cidr` (e.g. '198.18.77.3/32') on `dev`. */
  addAddr(cidr: string, dev: string): void {
    sh(['ip', '-n', this.name, 'addr', 'add', cidr, 'dev', dev]);
  }

  /** Runs argv inside the namespace (`ip netns exec`), bounded like `sh`. */
  exec(argv: readonly string[], allowFail = false): ShResult {
    return sh(['ip', 'netns', 'exec', this.name, ...argv], allowFail);
  }

  /** Starts the built form of a repository script (`distPath(sourceRel)`) inside the namespace. */
  spawnNode(sourceRel: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const script = distPath(sourceRel);
    return spawn('ip', ['netns', 'exec', this.name, process.execPath, script, ...args], { cwd: REPO_ROOT, ...options });
  }

  /** Deletes it by name; a namespace already gone is fine. */
  down(): void {
    sh(['ip', 'netns', 'del', this.name], true);
  }
}

/** One end of a veth link: its namespace, interface name and address with prefix length. */
export interface VethEnd {
  readonly ns: Netns;
  readonly ifname: string;
  readonly cidr: string;
}

/** Joins two namespaces with a veth pair, addresses both ends and sets them up. */
export function linkVeth(a: VethEnd, b: VethEnd): void {
  for (const end of [a, b]) {
    if (end.ifname.length > IFNAME_MAX_CHARS) throw new Error(`interface name '${end.ifname}' is longer than ${IFNAME_MAX_CHARS} characters`);
  }
  sh(['ip', 'link', 'add', a.ifname, 'netns', a.ns.name, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns.name]);
  for (const end of [a, b]) {
    end.ns.addAddr(end.cidr, end.ifname);
    sh(['ip', '-n', end.ns.name, 'link', 'set', end.ifname, 'up']);
  }
}
