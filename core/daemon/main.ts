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
import { systemdSession } from './systemd/notifier';
import { startWatchdog } from './systemd/watchdog';

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
/**
 * Exit code after SIGUSR2: hakitd exits at once for a restart (package upgrade), leaving modules
 * and their applications running for the next hakitd to adopt. hakitd.service restarts on it
 * (RestartForceExitStatus=75, EX_TEMPFAIL); installers/deb/postinst sends the signal.
 */
export const RESTART_KEEP_APPS_EXIT_CODE = 75;

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildDaemonProgram();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<DaemonCliOptions>();
  // Before anything spawns: takes NOTIFY_SOCKET and WATCHDOG_* out of the environment.
  const systemd = systemdSession(process.env, process.pid, (m) => process.stderr.write(`hakitd: systemd notify: ${m}\n`), o.runDir);
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
    systemd.notifier.status(`start failed: ${text.split('\n')[0] ?? ''}`);
    await systemd.notifier.close();
    return 1;
  }
  process.stderr.write(`hakitd: node ${o.node} ready\n`);
  let stopping = false;
  systemd.notifier.status(`node ${o.node} running`);
  systemd.notifier.ready();
  const watchdog_interval_ms = systemd.settings.watchdog_interval_ms;
  const stopWatchdog =
    watchdog_interval_ms === null
      ? () => undefined
      : startWatchdog({
          notifier: systemd.notifier,
          interval_ms: watchdog_interval_ms,
          // While modules stop, membership keeps ticking; afterwards only the event loop counts.
          healthy: () => stopping || daemon.healthy(),
          onSkip: (why) => daemon.logs.daemon.warn(why, 'systemd watchdog not pinged: hakitd is not healthy'),
        });
  const code = await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`hakitd: second ${sig}: exiting without waiting for modules\n`);
        resolve(FORCED_EXIT_CODE);
        return;
      }
      process.stderr.write(`hakitd: ${sig}: stopping modules\n`);
      stopping = true;
      systemd.notifier.stopping();
      systemd.notifier.status('stopping modules');
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
    process.once('SIGUSR2', () => {
      process.stderr.write('hakitd: SIGUSR2: exiting for a restart; modules and their applications keep running\n');
      daemon.logs.daemon.warn({}, 'exiting for a restart (SIGUSR2): modules left running for the next hakitd');
      resolve(RESTART_KEEP_APPS_EXIT_CODE);
    });
  });
  stopWatchdog();
  await systemd.notifier.close();
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
