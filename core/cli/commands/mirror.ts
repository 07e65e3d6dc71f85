// `hakit rfsverify|rfsdiff -m M` and `hakit second fullsync -m M`: the mirror commands,
// answered by the local hakitd where the module is PRIM (or ALONE). See docs/mirror.md.
import type { Command } from 'commander';
import { HakitError } from '../../errors/catalogue';
import { controlRequest } from '../../control/client';
import { controlSocketPath } from '../../control/paths';
import type { FullsyncResult, RfsVerifyResult } from '../../daemon/mirror-handlers';

/** A content-hash comparison reads every replicated file on both nodes: give it time. */
export const RFSVERIFY_TIMEOUT_MS = 30 * 60_000;
export const FULLSYNC_TIMEOUT_MS = 30_000;
/** Exit code of rfsverify when the copies differ. */
export const RFSVERIFY_DIFFERENT = 1;

const out = (line: string): boolean => process.stdout.write(`${line}\n`);
const sock = (): string => controlSocketPath(process.env);

async function verify(module: string): Promise<RfsVerifyResult> {
  return (await controlRequest(sock(), 'rfsverify', { module }, RFSVERIFY_TIMEOUT_MS)) as RfsVerifyResult;
}

export function registerMirrorCommands(program: Command): void {
  program
    .command('rfsverify')
    .description(`compare the PRIM's and the SECOND's copies by content hash while the module runs; exit 0 identical, ${RFSVERIFY_DIFFERENT} different`)
    .requiredOption('-m, --module <module>', 'module name')
    .option('--json', 'print JSON')
    .action(async (opts: { module: string; json?: boolean }) => {
      const r = await verify(opts.module);
      if (opts.json) out(JSON.stringify(r, null, 2));
      else if (r.differences.length === 0) out(`${r.module}: the copies on the PRIM (${r.node}) and the SECOND are identical`);
      else {
        out(`${r.module}: ${r.differences.length} file(s) differ between the PRIM (${r.node}) and the SECOND:`);
        for (const d of r.differences) out(`  ${d.reason.padEnd(18)} ${d.path}`);
      }
      process.exitCode = r.differences.length === 0 ? 0 : RFSVERIFY_DIFFERENT;
    });

  program
    .command('rfsdiff')
    .description('list the files whose content differs between the PRIM and the SECOND (one per line: reason, path)')
    .requiredOption('-m, --module <module>', 'module name')
    .action(async (opts: { module: string }) => {
      const r = await verify(opts.module);
      for (const d of r.differences) out(`${d.reason}\t${d.path}`);
    });

  // `hakit second -m M` (make this node SECOND) is registered by the control commands;
  // `fullsync` is its sub-command, as in SafeKit.
  const second = program.commands.find((c) => c.name() === 'second') ?? program.command('second').description('secondary-side commands');
  second
    .command('fullsync')
    .description('on the PRIM: the next re-integration compares every file by block hash (after a file was changed behind the mirror)')
    .option('-m, --module <module>', 'module name')
    .action(async (opts: { module?: string }) => {
      // `-m` after `fullsync` is parsed by `second`, which knows it too.
      const module = opts.module ?? (second.opts() as { module?: string }).module;
      if (!module) throw new HakitError('HAKIT_E_USAGE', 'give the module: hakit second fullsync -m MODULE', 'hakit second fullsync');
      const r = (await controlRequest(sock(), 'fullsync', { module }, FULLSYNC_TIMEOUT_MS)) as FullsyncResult;
      out(`${r.module}: full re-integration started from ${r.node}`);
    });
}
