#!/usr/bin/env node
// `hakitd`: the node daemon. It hosts every installed module of this node.
import './threadpool-init'; // first: sizes libuv's pool before anything uses it
import os from 'node:os';
import { Command, CommanderError } from 'commander';
import { readPackageVersion } from '../cli/package-version';
import { isHakitError } from '../errors/catalogue';
import { confDir, runDir, stateDir } from '../config/paths';
import { parseLogLevel } from '../log/levels';
import { logDir } from '../log/logs';
import { Daemon } from './daemon';
import { MODULE_MACHINE } from './machine';

interface DaemonCliOptions {
  node: string;
  confDir: string;
  stateDir: string;
  runDir: string;
  logDir: string;
  logLevel: string;
}

export function buildDaemonProgram(): Command {
  return new Command('hakitd')
    .description('hakitd: the hakit node daemon (membership, module state machines, replication, API)')
    .version(readPackageVersion(), '-V, --version')
    .option('--node <name>', 'this node\'s name in cluster.xml (env HAKIT_NODE_NAME, default: host name)', process.env['HAKIT_NODE_NAME'] || os.hostname())
    .option('--conf-dir <dir>', 'where cluster.xml and the cluster key live (env HAKIT_CONF_DIR)', confDir())
    .option('--state-dir <dir>', 'installed modules and durable module state (env HAKIT_STATE_DIR)', stateDir())
    .option('--run-dir <dir>', 'control socket and runtime files (env HAKIT_RUN_DIR)', runDir())
    .option('--log-dir <dir>', 'daemon and module logs (env HAKIT_LOG_DIR)', logDir())
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .showHelpAfterError()
    .exitOverride();
}

/** Exit code when a second SIGTERM/SIGINT cuts the clean stop short. */
const FORCED_EXIT_CODE = 1;

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildDaemonProgram();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<DaemonCliOptions>();
  let daemon: Daemon<unknown>;
  try {
    daemon = new Daemon({
      node: o.node,
      conf_dir: o.confDir,
      state_dir: o.stateDir,
      run_dir: o.runDir,
      log_dir: o.logDir,
      log_level: parseLogLevel(o.logLevel, '--log-level'),
      machine: MODULE_MACHINE as never,
    });
    await daemon.start();
  } catch (e) {
    const text = isHakitError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`hakitd: ${text}\n`);
    return 1;
  }
  process.stderr.write(`hakitd: node ${o.node} ready\n`);
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`hakitd: second ${sig}: exiting without waiting for modules\n`);
        resolve(FORCED_EXIT_CODE);
        return;
      }
      process.stderr.write(`hakitd: ${sig}: stopping modules\n`);
      daemon.stop().then(
        () => resolve(0),
        (e: unknown) => {
          process.stderr.write(`hakitd: stop failed: ${String(e)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
