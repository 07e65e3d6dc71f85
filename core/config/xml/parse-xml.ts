// XML text → XmlNode tree with the line of every element. xml2js does the parsing; its sax
// parser's `onopentag` is wrapped to record where each start tag began, since xml2js
// itself keeps no positions. A bare `<!DOCTYPE safe>` (SafeKit writes one at the top of its
// userconfig.xml) is accepted; any other DOCTYPE, and so any entity declaration or external
// DTD, is refused (doctypeRefusal).
import { Parser } from 'xml2js';
import type { ConfigIssue, XmlNode } from '../pure/xml-tree';

/** Bounds on what a config file may make the parser build (hostile or broken files). */
export const XML_LIMITS = { depth_max: 32, elements_max: 10_000 } as const;

// A key sax can never produce for an attribute (`#` is not an XML name character).
const LINE_KEY = '#line';

interface SaxHooks {
  onopentag: (node: { name: string; attributes: Record<string, string> }) => void;
  ondoctype: (doctype: string) => void;
  startTagPosition: number;
  /** Characters read so far: at onopentag, just past the start tag's `>`. */
  position: number;
  /** The root element has closed (sax sets it and never clears it). */
  closedRoot: boolean;
}

// An attribute of a start tag sax has already accepted: name, `=`, a quoted value (a value
// is consumed whole, so a `x="…"` inside another value is never taken for an attribute).
const ATTRIBUTE = /(\s)([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** A start tag's attributes as written, with the offsets (in the tag) of each `name="value"`
 *  (what an edit of one value keeps the rest of the file by: modules/safe/with-macros.ts). */
export function startTagAttributes(startTag: string): { name: string; value: string; start: number; end: number }[] {
  return [...startTag.matchAll(ATTRIBUTE)].map((m) => {
    const start = (m.index ?? 0) + (m[1] as string).length;
    return { name: m[2] as string, value: m[3] ?? m[4] ?? '', start, end: (m.index ?? 0) + m[0].length };
  });
}

/** The first attribute name given twice in a start tag's text, or null. */
export function duplicateAttribute(startTag: string): string | null {
  const seen = new Set<string>();
  for (const { name } of startTagAttributes(startTag)) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return null;
}

type RawElement = { '#name': string; $?: Record<string, string>; $$?: RawElement[]; _?: string };

export function parseXml(text: string, file: string): { root: XmlNode } | { issue: ConfigIssue } {
  const lineStarts = computeLineStarts(text);
  const parser = new Parser({ explicitChildren: true, preserveChildrenOrder: true, explicitRoot: false, explicitArray: true, charsAsChildren: false, strict: true, async: false });
  const sax = (parser as unknown as { saxParser: SaxHooks }).saxParser;
  const openTag = sax.onopentag;
  const doctypes: { body: string; line: number }[] = [];
  let root: string | null = null;
  let depth = 0;
  let count = 0;
  let tooBig = false;
  // sax keeps the first of two same-named attributes silently and starts a new document at a
  // second root element (xml2js then returns only the second): both would hide what the file
  // says, so both are refused, with the line, unless a syntax error came first.
  let structural: { line: number; message: string } | undefined;
  let result: unknown;
  let failure: Error | undefined;
  sax.ondoctype = (body) => {
    doctypes.push({ body, line: lineOf(lineStarts, sax.startTagPosition - 1) });
  };
  sax.onopentag = (node) => {
    count += 1;
    root = root ?? node.name;
    if (count > XML_LIMITS.elements_max) tooBig = true;
    // startTagPosition is one past the `<`, counted in UTF-16 code units like `text`.
    const line = lineOf(lineStarts, sax.startTagPosition - 1);
    if (structural === undefined && failure === undefined) {
      const dup = duplicateAttribute(text.slice(sax.startTagPosition - 1, sax.position));
      if (sax.closedRoot) structural = { line, message: `a second root element <${node.name}> (a file holds one root element)` };
      else if (dup !== null) structural = { line, message: `attribute ${JSON.stringify(dup)} given twice in <${node.name}>` };
    }
    node.attributes[LINE_KEY] = String(line);
    openTag(node);
  };
  // Drive sax directly instead of parseString: parseString resets the parser (dropping its
  // error listener) when the root closes, so text after the root would throw unhandled.
  parser.on('end', (value: unknown) => {
    result = value;
  });
  parser.on('error', (err: Error) => {
    failure = failure ?? err;
  });
  try {
    (sax as unknown as { write: (t: string) => { close: () => void } }).write(text).close();
  } catch (e) {
    failure = failure ?? (e instanceof Error ? e : new Error(String(e)));
  }
  const refused = doctypeRefusal(doctypes, root);
  if (refused !== null) return { issue: { code: 'HAKIT_E_CONF_DOCTYPE', where: refused.line > 0 ? `${file}:${refused.line}` : file, message: refused.message } };
  if (tooBig) return { issue: { code: 'HAKIT_E_CONF_TOO_DEEP', where: file, message: `more than ${XML_LIMITS.elements_max} elements` } };
  if (structural) return { issue: { code: 'HAKIT_E_CONF_XML', where: `${file}:${structural.line}`, message: structural.message } };
  if (failure) return { issue: { code: 'HAKIT_E_CONF_XML', where: `${file}:${saxLine(failure)}`, message: firstLine(failure.message) } };
  if (result === undefined || result === null || typeof result !== 'object') {
    return { issue: { code: 'HAKIT_E_CONF_XML', where: file, message: 'no root element' } };
  }
  const convert = (raw: RawElement, level: number): XmlNode => {
    depth = Math.max(depth, level);
    if (level > XML_LIMITS.depth_max) throw new DepthError();
    const attrs: Record<string, string> = { ...(raw.$ ?? {}) };
    const line = Number(attrs[LINE_KEY] ?? 0);
    delete attrs[LINE_KEY];
    const children = (raw.$$ ?? []).filter((c) => typeof c === 'object' && c !== null && typeof c['#name'] === 'string').map((c) => convert(c, level + 1));
    return { name: raw['#name'], attrs, children, text: typeof raw._ === 'string' ? raw._.trim() : '', line };
  };
  try {
    return { root: convert(result as RawElement, 1) };
  } catch (e) {
    if (e instanceof DepthError) return { issue: { code: 'HAKIT_E_CONF_TOO_DEEP', where: file, message: `elements nested deeper than ${XML_LIMITS.depth_max}` } };
    throw e;
  }
}

class DepthError extends Error {}

/** A bare document type name, as in `<!DOCTYPE safe>`: sax hands over what follows `DOCTYPE`. */
const BARE_DOCTYPE = /^\s+([A-Za-z_][A-Za-z0-9_.-]*)\s*$/;

/**
 * null when the file has no DOCTYPE or one bare `<!DOCTYPE NAME>` naming the root element;
 * otherwise why it is refused. An internal subset (`[...]`) is where entities are declared
 * (billion laughs, external entities) and an external id (SYSTEM/PUBLIC) names a file or URL
 * to fetch: both are refused, whatever they hold.
 */
export function doctypeRefusal(doctypes: readonly { body: string; line: number }[], root: string | null): { line: number; message: string } | null {
  const first = doctypes[0];
  if (first === undefined) return null;
  const only = 'only a bare <!DOCTYPE NAME> is accepted';
  if (doctypes.length > 1) return { line: doctypes[1]?.line ?? first.line, message: `more than one DOCTYPE; ${only}` };
  if (first.body.includes('[')) return { line: first.line, message: `DOCTYPE with an internal subset (entity declarations) is not accepted; ${only}` };
  const m = BARE_DOCTYPE.exec(first.body);
  if (m === null) {
    const external = /\b(SYSTEM|PUBLIC)\b/.test(first.body);
    return { line: first.line, message: external ? `DOCTYPE with an external id (SYSTEM or PUBLIC) is not accepted; ${only}` : `DOCTYPE ${JSON.stringify(first.body.trim().slice(0, 40))} is not a bare name; ${only}` };
  }
  if (root !== null && m[1] !== root) return { line: first.line, message: `<!DOCTYPE ${m[1]}> does not name the root element <${root}>` };
  return null;
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineOf(starts: readonly number[], position: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= position) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function saxLine(err: Error): string {
  const m = /Line: (\d+)/.exec(err.message);
  return m ? String(Number(m[1]) + 1) : '?';
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
