#!/usr/bin/env node
// `hakit-witness`: the split-brain witness, run on a third host that both nodes reach on a
// path other than their heartbeat LANs. Nodes name it in userconfig.xml `<splitbrain>`.
import { Command, CommanderError } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { readPackageVersion } from '../cli/package-version';
import { isHakitError } from '../errors/catalogue';
import { parseLogLevel } from '../log/levels';
import { HakitLogs, logDir } from '../log/logs';
import { DEFAULT_WITNESS_PORT } from '../membership/transport/witness-protocol';
import { stateDir } from '../config/paths';
import { readClusterKey } from './cluster-key';
import { DEFAULT_WITNESS_LEASE_MS, WitnessServer } from './witness-server';

interface Opts {
  address: string;
  port: string;
  keyFile: string;
  leaseMs: string;
  stateDir: string;
  logDir: string;
  logLevel: string;
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
    .exitOverride();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<Opts>();
  let server: WitnessServer;
  let logs: HakitLogs;
  try {
    fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    logs = new HakitLogs({ dir: o.logDir, level: parseLogLevel(o.logLevel), node: 'witness' });
    server = new WitnessServer({
      address: o.address,
      port: Number(o.port),
      key: readClusterKey(o.keyFile),
      lease_ms: Number(o.leaseMs),
      state_file: path.join(o.stateDir, 'witness.json'),
      log: logs.daemon,
    });
    await server.start();
  } catch (e) {
    process.stderr.write(`hakit-witness: ${isHakitError(e) ? `${e.code}: ${e.message}` : String(e)}\n`);
    return 1;
  }
  process.stderr.write(`hakit-witness: listening on ${o.address}:${o.port}\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void server.close().then(() => {
        logs.close();
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
