#!/usr/bin/env node
// `hakit-witness`: the split-brain witness, run on a third host that both nodes reach on a
// path other than their heartbeat LANs. Nodes name it in userconfig.xml `<splitbrain>`.
import { Command, CommanderError } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { readPackageVersion } from '../cli/package-version';
import { HakitError, isHakitError } from '../errors/catalogue';
import { parseLogLevel } from '../log/levels';
import { HakitLogs, logDir } from '../log/logs';
import { DEFAULT_WITNESS_PORT } from './protocol';
import { stateDir } from '../config/paths';
import { readClusterKey } from '../daemon/cluster-key';
import { nextIncarnation } from '../daemon/incarnation';
import { DEFAULT_WITNESS_LEASE_MS, WitnessServer } from './server';
import { MAX_WITNESS_LEASE_MS } from '../module/pure/policy';

/** Shortest --lease-ms: below it a lease would end before its grant crossed a LAN. */
const MIN_LEASE_OPTION_MS = 100;
/** In the state dir, apart from a hakitd's own `incarnation` (the default state dir is shared). */
const WITNESS_INCARNATION_FILE = 'witness-incarnation';
import { systemdSession } from '../daemon/systemd/notifier';
import { startWatchdog } from '../daemon/systemd/watchdog';

interface Opts {
  address: string;
  port: string;
  keyFile: string;
  leaseMs: string;
  stateDir: string;
  logDir: string;
  logLevel: string;
  node?: string[];
}

/** `--node name=addr[,addr...]`, repeatable: the addresses the witness hears each node from. */
function parseNodes(specs: readonly string[] | undefined): Record<string, string[]> | undefined {
  if (specs === undefined || specs.length === 0) return undefined;
  // No prototype: a node named "constructor" is a key like any other.
  const out = Object.create(null) as Record<string, string[]>;
  for (const spec of specs) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})=([0-9A-Fa-f:.,]+)$/.exec(spec);
    if (!m) throw new HakitError('HAKIT_E_USAGE', `--node "${spec}" is not name=address[,address...]`, 'hakit-witness');
    out[m[1] as string] = [...(out[m[1] as string] ?? []), ...(m[2] as string).split(',').filter((a) => a !== '')];
  }
  return out;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('hakit-witness')
    .description('hakit split-brain witness: grants one node at a time the right to serve each mirror module')
    .version(readPackageVersion(), '-V, --version')
    .requiredOption('--address <ip>', 'address to listen on')
    .option('--port <port>', 'UDP port', String(DEFAULT_WITNESS_PORT))
    .requiredOption('--key-file <file>', "the cluster's key file (same as the nodes')")
    .option('--lease-ms <ms>', 'longest lease granted (nodes ask for the lease of their heartbeat profile)', String(DEFAULT_WITNESS_LEASE_MS))
    .option('--state-dir <dir>', 'where the witness records epochs and lease holders', stateDir())
    .option('--log-dir <dir>', 'log directory', logDir())
    .option('--log-level <level>', 'log level', 'info')
    .option('--node <name=addr[,addr]>', "a node and its addresses (repeat per node): the witness hears and answers that node only there", (v: string, acc: string[] = []) => [...acc, v])
    .exitOverride();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<Opts>();
  const systemd = systemdSession(process.env, process.pid, (m) => process.stderr.write(`hakit-witness: systemd notify: ${m}\n`));
  let server: WitnessServer;
  let logs: HakitLogs;
  try {
    const nodes = parseNodes(o.node);
    const lease_ms = Number(o.leaseMs);
    // NaN ("5s") made every grant carry lease_ms null, which every node refused: no lease
    // for anyone, and no error said why.
    if (!Number.isInteger(lease_ms) || lease_ms < MIN_LEASE_OPTION_MS || lease_ms > MAX_WITNESS_LEASE_MS) {
      throw new HakitError('HAKIT_E_USAGE', `--lease-ms ${JSON.stringify(o.leaseMs)}: an integer of ms from ${MIN_LEASE_OPTION_MS} to ${MAX_WITNESS_LEASE_MS}`, 'hakit-witness');
    }
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HakitError('HAKIT_E_USAGE', `--port ${JSON.stringify(o.port)}: an integer from 1 to 65535`, 'hakit-witness');
    fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    logs = new HakitLogs({ dir: o.logDir, level: parseLogLevel(o.logLevel), node: 'witness' });
    server = new WitnessServer({
      address: o.address,
      port,
      key: readClusterKey(o.keyFile),
      lease_ms,
      // Durable and growing: a witness restarted with its clock set back (a VM restored, a bad
      // RTC) was never heard again, every node dropping its replies as a past life's.
      incarnation: nextIncarnation(o.stateDir, Date.now(), WITNESS_INCARNATION_FILE),
      state_file: path.join(o.stateDir, 'witness.json'),
      floors_file: path.join(o.stateDir, 'witness-floors.json'),
      log: logs.daemon,
      ...(nodes ? { nodes } : {}),
    });
    if (!nodes) logs.daemon.warn({}, 'no --node given: requests are heard from any address (replays are still refused)');
    await server.start();
  } catch (e) {
    const text = isHakitError(e) ? `${e.code}: ${e.message}` : String(e);
    process.stderr.write(`hakit-witness: ${text}\n`);
    systemd.notifier.status(`start failed: ${text}`);
    await systemd.notifier.close();
    return 1;
  }
  process.stderr.write(`hakit-witness: listening on ${o.address}:${o.port}\n`);
  systemd.notifier.status(`listening on ${o.address}:${o.port}`);
  systemd.notifier.ready();
  const interval_ms = systemd.settings.watchdog_interval_ms;
  // The witness has no membership of its own: a responsive event loop is its health.
  const stopWatchdog = interval_ms === null ? () => undefined : startWatchdog({ notifier: systemd.notifier, interval_ms, healthy: () => true });
  const code = await new Promise<number>((resolve) => {
    const stop = (): void => {
      systemd.notifier.stopping();
      void server.close().then(() => {
        logs.close();
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  stopWatchdog();
  await systemd.notifier.close();
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
