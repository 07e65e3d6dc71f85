// Scenario tests (docs/architecture.md, rule 7): each scenarios/NAME.scn runs in the simulated cluster and
// its trace must equal scenarios/NAME.golden.txt. After an intended change, regenerate with
//   UPDATE_GOLDEN=1 npx jest test/sim/scenarios.test.ts
// and review the diff like code.
import fs from 'node:fs';
import path from 'node:path';
import { runScenario } from './scenario';

const DIR = path.join(__dirname, 'scenarios');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.scn')).sort();

describe('scenarios', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of files) {
    it(file.replace(/\.scn$/, ''), () => {
      const result = runScenario(fs.readFileSync(path.join(DIR, file), 'utf8'));
      if (!result.ok) throw new Error(`${file}: ${result.error}\n${result.trace}`);
      const golden = path.join(DIR, file.replace(/\.scn$/, '.golden.txt'));
      if (process.env.UPDATE_GOLDEN === '1' || !fs.existsSync(golden)) fs.writeFileSync(golden, result.trace);
      expect(result.trace).toBe(fs.readFileSync(golden, 'utf8'));
    });
  }
});
