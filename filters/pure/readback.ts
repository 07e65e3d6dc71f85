// Parses what `nft -j list set` printed back into bucket numbers, so the applier can compare
// the kernel's set with what it wrote (docs/architecture.md, rule 5: kernel changes are read back).
import { HakitError } from '../../core/errors/catalogue';

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function elementValue(e: Json): number | undefined {
  if (typeof e === 'number') return e;
  // Elements with counters or timeouts come as { elem: { val: n, ... } }.
  if (isObject(e) && isObject(e.elem) && typeof e.elem.val === 'number') return e.elem.val;
  return undefined;
}

/** Bucket numbers of the set in `json`, ascending; a coded error when the text is not a set listing. */
export function parseOwnedSet(json: string, where: string): number[] {
  let doc: Json;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new HakitError('HAKIT_E_FILTER_READBACK', 'nft printed something that is not JSON', where);
  }
  const items = isObject(doc) && Array.isArray(doc.nftables) ? doc.nftables : [];
  const set = items.map((i) => (isObject(i) && isObject(i.set) ? i.set : undefined)).find((s) => s !== undefined);
  if (!set) throw new HakitError('HAKIT_E_FILTER_READBACK', 'nft listing holds no set', where);
  const raw = Array.isArray(set.elem) ? set.elem : [];
  const values = raw.map(elementValue);
  if (values.some((v) => v === undefined)) throw new HakitError('HAKIT_E_FILTER_READBACK', 'the set holds an element that is not a bucket number', where);
  return (values as number[]).sort((a, b) => a - b);
}

/** Describes the first difference between two ascending bucket lists, or undefined when equal. */
export function ownedDifference(expected: readonly number[], actual: readonly number[]): string | undefined {
  const want = new Set(expected);
  const have = new Set(actual);
  const missing = expected.filter((b) => !have.has(b));
  const extra = actual.filter((b) => !want.has(b));
  if (missing.length === 0 && extra.length === 0) return undefined;
  return `missing buckets [${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}], unexpected [${extra.slice(0, 8).join(', ')}${extra.length > 8 ? ', …' : ''}]`;
}
