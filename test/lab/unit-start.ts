// Starts hakitd or hakit-witness on a host of a packaged lab the way systemd starts the
// installed unit: the unit file of the staged package tree (what the .deb installs as
// /lib/systemd/system/NAME) is read, its EnvironmentFile= read in the host's view (the host's
// own /etc/default), its ExecStart expanded as systemd does, and the command run in a new
// session from / with systemd's service environment (a clean environment: PATH, LANG, the
// unit's variables, nothing of the caller's). The command is the package's own wrapper
// (/usr/sbin/hakitd, taken from the staged tree, which no host has at that path), which runs
// /usr/lib/hakit/node on /usr/lib/hakit/dist, bound into the host from the same tree.
// What systemd adds and the lab has not: NOTIFY_SOCKET/WATCHDOG_USEC (hakitd runs without
// notifications, as when started by hand), the cgroup, and Restart= (tests restart by hand).
// Output goes to /var/log/hakit/NAME.out in the host's view (the journal's stand-in).
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from './errors';
import type { Lab } from './index';
import { expandExecStart, parseEnvironmentFile, parseServiceStart, SERVICE_PATH } from './pure/unit-file';
import { shq } from './pure/scripts';

export type HakitUnit = 'hakitd.service' | 'hakit-witness.service';

const UNIT_DIR = '/lib/systemd/system';

export interface UnitCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

function packagedRootOf(lab: Lab): string {
  const root = lab.packagedRoot;
  if (root === undefined) throw new LabError('HAKIT_E_LAB_PACKAGE', `lab '${lab.name || 'default'}' is not packaged (Lab.up({ packaged: true }))`, 'lab unit start');
  return root;
}

/** Reads a file in the host's view; undefined when it does not exist. */
async function readOnHost(lab: Lab, host: string, file: string): Promise<string | undefined> {
  const r = await lab.exec(host, ['sh', '-c', 'if [ -e "$1" ]; then cat "$1"; else exit 3; fi', 'sh', file], { cwd: '/' });
  if (r.code === 3) return undefined;
  if (r.code !== 0) throw new LabError('HAKIT_E_LAB_COMMAND', `cannot read ${file}: ${r.stderr.trim()}`, `lab host ${host}`);
  return r.stdout;
}

/** The command and environment systemd would use for the unit on this host. */
export async function unitCommand(lab: Lab, host: string, unit: HakitUnit): Promise<UnitCommand> {
  const root = packagedRootOf(lab);
  const start = parseServiceStart(fs.readFileSync(path.join(root, UNIT_DIR, unit), 'utf8'));
  const env: Record<string, string> = { PATH: SERVICE_PATH, LANG: 'C.UTF-8', ...start.environment };
  for (const ref of start.environmentFiles) {
    const text = await readOnHost(lab, host, ref.path);
    if (text === undefined) {
      if (ref.optional) continue;
      throw new LabError('HAKIT_E_LAB_PACKAGE', `${unit} needs ${ref.path} (EnvironmentFile=), which does not exist on ${host}`, `lab host ${host}`);
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  const argv = expandExecStart(start.execStart, env);
  // The package's command (its wrapper) from the staged tree: the hosts see only /usr/lib/hakit.
  const exe = path.join(root, argv[0] as string);
  if (!fs.existsSync(exe)) throw new LabError('HAKIT_E_LAB_PACKAGE', `${argv[0]} is not in the staged package tree ${root}`, unit);
  return { argv: [exe, ...argv.slice(1)], env };
}

/** Starts the unit's process on the host, detached in its own session; resolves with its pid. */
export async function startUnit(lab: Lab, host: string, unit: HakitUnit): Promise<number> {
  const cmd = await unitCommand(lab, host, unit);
  const log = `/var/log/hakit/${unit.replace(/\.service$/, '')}.out`;
  const assignments = Object.entries(cmd.env).map(([k, v]) => shq(`${k}=${v}`));
  const script = `mkdir -p /var/log/hakit; cd / && setsid env -i ${assignments.join(' ')} ${cmd.argv.map(shq).join(' ')} </dev/null >>${shq(log)} 2>&1 & echo $!`;
  const r = await lab.exec(host, ['sh', '-c', script], { cwd: '/' });
  const pid = Number(r.stdout.trim());
  if (r.code !== 0 || !(pid > 0)) throw new LabError('HAKIT_E_LAB_COMMAND', `cannot start ${unit}: ${r.stderr.trim()}`, `lab host ${host}`);
  return pid;
}

/** The package's command line (/usr/bin/hakit) of a packaged lab, as argv to run on a host. */
export function packagedCli(lab: Lab): string[] {
  return [path.join(packagedRootOf(lab), 'usr/bin/hakit')];
}
