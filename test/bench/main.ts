// `npm run bench -- NAME [args]`: runs one benchmark (or all with no NAME). Benchmarks print
// ratios measured side by side in one run; they are not pass/fail tests.
import { BENCHES } from './registry';

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(`usage: npm run bench -- [${Object.keys(BENCHES).join('|')}] [args]\n`);
    return 0;
  }
  const names = name === undefined ? Object.keys(BENCHES) : [name];
  for (const n of names) {
    const bench = BENCHES[n];
    if (!bench) {
      process.stderr.write(`bench: unknown benchmark '${n}'; known: ${Object.keys(BENCHES).join(', ')}\n`);
      return 2;
    }
    await bench(rest);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
