// XML text → XmlNode tree with the line of every element. xml2js does the parsing; its sax
// parser's `onopentag` is wrapped to record where each start tag began, since xml2js
// itself keeps no positions. DOCTYPE (and so entity declarations) is refused outright.
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
}

type RawElement = { '#name': string; $?: Record<string, string>; $$?: RawElement[]; _?: string };

export function parseXml(text: string, file: string): { root: XmlNode } | { issue: ConfigIssue } {
  const lineStarts = computeLineStarts(text);
  const parser = new Parser({ explicitChildren: true, preserveChildrenOrder: true, explicitRoot: false, explicitArray: true, charsAsChildren: false, strict: true, async: false });
  const sax = (parser as unknown as { saxParser: SaxHooks }).saxParser;
  const openTag = sax.onopentag;
  let doctype = false;
  let depth = 0;
  let count = 0;
  let tooBig = false;
  sax.ondoctype = () => {
    doctype = true;
  };
  sax.onopentag = (node) => {
    count += 1;
    if (count > XML_LIMITS.elements_max) tooBig = true;
    // startTagPosition is one past the `<`, counted in UTF-16 code units like `text`.
    node.attributes[LINE_KEY] = String(lineOf(lineStarts, sax.startTagPosition - 1));
    openTag(node);
  };
  let result: unknown;
  let failure: Error | undefined;
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
  if (doctype) return { issue: { code: 'HAKIT_E_CONF_DOCTYPE', where: file, message: 'DOCTYPE and entity declarations are not accepted' } };
  if (tooBig) return { issue: { code: 'HAKIT_E_CONF_TOO_DEEP', where: file, message: `more than ${XML_LIMITS.elements_max} elements` } };
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
