// Random and mutated XML never crash the pipeline: it returns a frozen config or issues
// whose codes are in the catalogue. Bounded: a fixed number of runs per property.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parseClusterText, parseUserConfigText } from '../../../core/config/load';
import { ERROR_CODES } from '../../../core/errors/catalogue';
import { CLUSTER_XML } from './fixtures';

const RUNS = 300;
const examples = ['mirror_http', 'farm_http'].map((m) => fs.readFileSync(path.resolve(__dirname, `../../../modules/examples/${m}/conf/userconfig.xml`), 'utf8'));

function assertWellBehaved(r: ReturnType<typeof parseUserConfigText> | ReturnType<typeof parseClusterText>): void {
  if (r.ok) {
    expect(Object.isFrozen(r.value)).toBe(true);
    return;
  }
  expect(r.errors.length).toBeGreaterThan(0);
  for (const e of r.errors) {
    expect(Object.keys(ERROR_CODES)).toContain(e.code);
    expect(e.where.length).toBeGreaterThan(0);
    expect(e.message.length).toBeGreaterThan(0);
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('<', '>', '"', '%', '%X%', '&amp;', '<vip/>', ' mode="farm"', '<!DOCTYPE x>', ']]>', '\u0000', '9999999999999')) }),
  fc.record({ kind: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }) }),
);

function mutate(text: string, muts: readonly { kind: string; at: number; len?: number; text?: string }[]): string {
  let out = text;
  for (const m of muts) {
    const at = m.at % (out.length + 1);
    if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + (m.len ?? 1));
    else if (m.kind === 'insert') out = out.slice(0, at) + (m.text ?? '') + out.slice(at);
    else out = out.slice(0, at) + out.slice(at, at + (m.len ?? 1)) + out.slice(at);
  }
  return out;
}

test('mutated userconfig.xml never throws', () => {
  fc.assert(
    fc.property(fc.constantFrom(...examples), fc.array(mutation, { minLength: 1, maxLength: 5 }), (xml, muts) => {
      assertWellBehaved(parseUserConfigText(mutate(xml, muts)));
    }),
    { numRuns: RUNS, seed: 20261121 },
  );
});

test('mutated cluster.xml never throws', () => {
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (muts) => {
      assertWellBehaved(parseClusterText(mutate(CLUSTER_XML, muts), 'cluster.xml', '/etc/hakit'));
    }),
    { numRuns: RUNS, seed: 7 },
  );
});

test('random strings and random element trees never throw', () => {
  const name = fc.constantFrom('safe', 'service', 'heart', 'heartbeat', 'vip', 'rfs', 'replicated', 'user', 'var', 'check', 'tcp', 'to', 'x');
  const attr = fc.tuple(fc.constantFrom('mode', 'name', 'addr', 'dir', 'port', 'value', 'ident', 'x'), fc.string({ maxLength: 10 }));
  const element = (n: string, attrs: readonly [string, string][], kids: readonly string[]) =>
    `<${n}${[...new Map(attrs).entries()].map(([k, v]) => ` ${k}="${v.replace(/[<&"]/g, '')}"`).join('')}>${kids.join('')}</${n}>`;
  const tree = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 4 },
      fc.tuple(name, fc.array(attr, { maxLength: 3 })).map(([n, attrs]) => element(n, attrs, [])),
      fc.tuple(name, fc.array(attr, { maxLength: 3 }), fc.array(tie('node'), { maxLength: 3 })).map(([n, attrs, kids]) => element(n, attrs, kids)),
    ),
  })).node;
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), tree), (xml) => {
      assertWellBehaved(parseUserConfigText(xml));
    }),
    { numRuns: RUNS, seed: 42 },
  );
});
