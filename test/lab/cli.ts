#!/usr/bin/env node
// `npm run lab -- <command>`: the lab from a shell. Exit codes: 0 ok, 1 failed (or not root),
// 2 usage (unknown command, option or host). `exec` passes the command's own exit code through.
import { constants as osConstants } from 'node:os';
import { isCodedError } from './errors';
import { parseArgs, USAGE, type LabCommand } from './pure/args';
import { Lab, type LabStatus } from './index';
import { requireRoot } from './make';
import { labKey, normaliseLabName } from './pure/plan';
import { SERVICE_PATH } from './pure/unit-file';
import { startUnit } from './unit-start';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export function formatStatus(s: LabStatus): string {
  const lines = [`lab ${s.name} (index ${s.index})`, 'LANs:'];
  for (const l of s.lans) lines.push(`  lan${l.index}  ${l.subnet.padEnd(18)} bridge ${l.bridge}`);
  lines.push('hosts:');
  for (const h of s.hosts) lines.push(`  ${h.name.padEnd(8)} netns ${h.netns.padEnd(16)} ${h.addrs.map((a, i) => `eth${i} ${a}`).join('  ')}`);
  const lanText = (lan: number | undefined): string => (lan === undefined ? 'all LANs' : `lan${lan}`);
  lines.push(`cuts: ${s.cuts.length === 0 ? 'none' : s.cuts.map((c) => `${c.from}->${c.to} (${lanText(c.lan)})`).join(', ')}`);
  lines.push(`delays: ${s.delays.length === 0 ? 'none' : s.delays.map((d) => `${d.host} lan${d.lan} ${d.delay_ms} ms (pid ${d.pid})`).join(', ')}`);
  lines.push(`losses: ${s.losses.length === 0 ? 'none' : s.losses.map((l) => `${l.host} lan${l.lan} ${l.pct} %`).join(', ')}`);
  lines.push(`powered off: ${s.poweredOff.length === 0 ? 'none' : `${s.poweredOff.join(', ')} (npm run lab -- poweron HOST)`}`);
  if (s.packagedRoot !== undefined) lines.push(`packaged: ${s.packagedRoot}`);
  return lines.join('\n') + '\n';
}

/** In a packaged lab the package's commands (hakit, hakitd, hakit-witness) are on PATH, as on an installed node. */
function withPackagePath(lab: Lab, argv: string[]): string[] {
  const root = lab.packagedRoot;
  return root === undefined ? argv : ['env', `PATH=${root}/usr/sbin:${root}/usr/bin:${process.env['PATH'] ?? SERVICE_PATH}`, ...argv];
}

function passThrough(lab: Lab, host: string, argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = lab.spawn(host, withPackagePath(lab, argv), { stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0)));
  });
}

function openOrFail(name: string | undefined, io: CliIo): Lab | undefined {
  const lab = Lab.open(name);
  if (lab === undefined) io.err(`lab: no lab '${labKey(normaliseLabName(name))}' is up (npm run lab -- up --nodes 2 ...)\n`);
  return lab;
}

async function runCommand(cmd: LabCommand, name: string | undefined, io: CliIo): Promise<number> {
  if (cmd.kind === 'up') {
    const t0 = Date.now();
    const lab = await Lab.up({ name, nodes: cmd.nodes, client: cmd.client, witness: cmd.witness, lans: cmd.lans, packaged: cmd.packaged });
    io.out(formatStatus(lab.status()) + `up in ${Date.now() - t0} ms\n`);
    return 0;
  }
  if (cmd.kind === 'down') {
    const t0 = Date.now();
    const existed = await Lab.destroy(name);
    io.out(existed ? `lab ${labKey(normaliseLabName(name))} down in ${Date.now() - t0} ms\n` : `lab: no lab '${labKey(normaliseLabName(name))}' is up; nothing to do\n`);
    return 0;
  }
  const lab = openOrFail(name, io);
  if (lab === undefined) return 1;
  const hostsNamed = 'host' in cmd ? [cmd.host] : cmd.kind === 'cut' ? [cmd.a, cmd.b] : [];
  const unknown = hostsNamed.find((h) => !lab.hosts.some((x) => x.name === h));
  if (unknown !== undefined) {
    io.err(`lab: no host '${unknown}' (hosts: ${lab.hosts.map((h) => h.name).join(', ')})\n${USAGE}\n`);
    return 2;
  }
  switch (cmd.kind) {
    case 'status':
      io.out(cmd.json ? JSON.stringify(lab.status(), null, 2) + '\n' : formatStatus(lab.status()));
      return 0;
    case 'exec':
      return passThrough(lab, cmd.host, cmd.argv);
    case 'kill': {
      const r = await lab.kill(cmd.host);
      io.out(`${cmd.host}: power cut: links down; killed ${r.killed.length} process(es); FUSE aborted: ${r.fuseAborted.length}; unmounted: ${r.unmounted.length}\n`);
      io.out(`${cmd.host} stays off until: npm run lab -- poweron ${cmd.host}\n`);
      return 0;
    }
    case 'start': {
      const pid = await startUnit(lab, cmd.host, `${cmd.unit}.service`);
      io.out(`${cmd.host}: ${cmd.unit} started as its unit does (pid ${pid}); output in /var/log/hakit/${cmd.unit}.out\n`);
      return 0;
    }
    case 'poweron':
      await lab.powerOn(cmd.host);
      io.out(`${cmd.host}: powered on (links up); start its daemons again\n`);
      return 0;
    case 'cut':
      await lab.cut(cmd.a, cmd.b, { lan: cmd.lan, oneway: cmd.oneway });
      return 0;
    case 'heal':
      await lab.heal();
      return 0;
    case 'delay':
      await lab.delay(cmd.host, cmd.delay_ms, { lan: cmd.lan });
      return 0;
    case 'loss':
      await lab.loss(cmd.host, cmd.pct, { lan: cmd.lan });
      return 0;
    default:
      return 2;
  }
}

export async function main(argv: readonly string[], io: CliIo = stdIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    io.err(`lab: ${parsed.message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.command.kind === 'help') {
    io.out(USAGE + '\n');
    return 0;
  }
  const name = parsed.labName ?? env.HAKIT_LAB;
  try {
    requireRoot();
    return await runCommand(parsed.command, name, io);
  } catch (e) {
    if (!isCodedError(e)) throw e;
    io.err(`lab: ${e.code}: ${e.message}\n`);
    return e.code === 'HAKIT_E_USAGE' || e.code === 'HAKIT_E_LAB_UNKNOWN_HOST' || e.code === 'HAKIT_E_LAB_BAD_LAN' ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`lab: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
