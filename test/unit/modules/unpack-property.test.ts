// Random and mutated zips: unpacking either succeeds inside its own directory or fails with
// a coded HakitError; nothing is ever written outside the destination.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { isHakitError } from '../../../core/errors/catalogue';
import { unpackSafe } from '../../../modules/safe/unpack';
import { goodEntries, rawZip, type RawEntry } from './raw-zip';

const RUNS = 150;
let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-cfg-unpack-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function listAll(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

let n = 0;
async function unpackChecked(zip: Buffer): Promise<void> {
  n += 1;
  const box = path.join(tmp, `case${n}`);
  const dest = path.join(box, 'dest');
  fs.mkdirSync(dest, { recursive: true });
  const file = path.join(box, 'in.safe');
  fs.writeFileSync(file, zip);
  const outsideBefore = listAll(tmp).filter((p) => !p.startsWith(`case${n}/dest`));
  try {
    await unpackSafe(file, dest);
  } catch (e) {
    if (!isHakitError(e)) throw e;
  }
  const outsideAfter = listAll(tmp).filter((p) => !p.startsWith(`case${n}/dest`));
  expect(outsideAfter).toEqual(outsideBefore);
  for (const p of listAll(dest)) expect(fs.lstatSync(path.join(dest, p)).isSymbolicLink()).toBe(false);
  fs.rmSync(box, { recursive: true, force: true });
}

const hostileName = fc.oneof(
  fc.constantFrom('../x', 'conf/../../x', '/abs', 'C:/x', 'a\\b', 'conf/./x', 'conf//x', '', '.', 'conf/', 'bin/start_prim', 'bin/start_prim/x'),
  fc.string({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
);
const entry: fc.Arbitrary<RawEntry> = fc.record({
  name: hostileName,
  data: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  mode: fc.constantFrom(0o100644, 0o100755, 0o120777, 0o020644, 0o060644, 0o010644, 0o140644, 0o040755, 0),
  deflate: fc.boolean(),
  flags: fc.constantFrom(0, 0, 0, 1),
  declaredSize: fc.option(fc.nat(), { nil: undefined }),
});

test('random entry lists', async () => {
  await fc.assert(fc.asyncProperty(fc.array(entry, { maxLength: 6 }), (entries) => unpackChecked(rawZip([...goodEntries(), ...entries]))), { numRuns: RUNS, seed: 1 });
});

test('byte-mutated packages', async () => {
  const good = rawZip(goodEntries());
  const flip = fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
  await fc.assert(
    fc.asyncProperty(flip, fc.nat({ max: good.length }), async (flips, cut) => {
      const bad = Buffer.from(good);
      for (const [at, v] of flips) bad[at] = v;
      await unpackChecked(cut % 3 === 0 ? bad.subarray(0, cut) : bad);
    }),
    { numRuns: RUNS, seed: 2 },
  );
});
