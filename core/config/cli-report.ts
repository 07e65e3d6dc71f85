// Prints a failure of a config or module command: every issue of a ConfigIssuesError on
// its own line (`hakit: CODE: where: message`), other coded errors rethrown for main().
import { ConfigIssuesError } from './load';

export async function reportIssues(run: () => Promise<void> | void): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (e instanceof ConfigIssuesError && e.issues.length > 1) {
      for (const i of e.issues) process.stderr.write(`hakit: ${i.code}: ${i.where}: ${i.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
