// Pure helpers of the Configuration view: which editor lines carry which problems, where a
// line starts in the text, a package's bytes as base64, a module name from a file name.
import type { ConfigIssueInfo } from '../../core/api/contract/pure/config-types';

export const USERCONFIG_FILE = 'conf/userconfig.xml';

/** Problems of the edited file, by line (1-based); problems without a line are left out. */
export function issuesByLine(issues: readonly ConfigIssueInfo[], file = USERCONFIG_FILE): ReadonlyMap<number, readonly ConfigIssueInfo[]> {
  const out = new Map<number, ConfigIssueInfo[]>();
  for (const i of issues) {
    if (i.file !== file || i.line === null) continue;
    const list = out.get(i.line) ?? [];
    list.push(i);
    out.set(i.line, list);
  }
  return out;
}

export function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** [start, end) of line `line` (1-based) in `text`, clamped to the text. */
export function lineRange(text: string, line: number): { start: number; end: number } {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) return { start: text.length, end: text.length };
    start = nl + 1;
  }
  const nl = text.indexOf('\n', start);
  return { start, end: nl === -1 ? text.length : nl };
}

/** Where an issue is, in words: "conf/userconfig.xml line 12", "the package". */
export function whereOf(i: ConfigIssueInfo): string {
  if (!i.file) return 'the package';
  return i.line !== null ? `${i.file} line ${i.line}` : i.file;
}

const CHUNK = 0x8000;

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += CHUNK) bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(bin);
}

export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** "mirror_app.safe" → "mirror_app"; "mirror_app (2).safe" → "mirror_app" (a browser's copy suffix). */
export function moduleNameFromFile(file_name: string): string {
  return file_name.replace(/\.safe$/i, '').replace(/\s*\(\d+\)$/, '');
}
