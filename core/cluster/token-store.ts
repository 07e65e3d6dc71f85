// The join tokens of this node: `<state>/join-tokens.json`, mode 0600, written with a rename.
// It holds hashes of the secrets only (core/cluster/pure/join-token.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { TokenRecord } from './pure/join-token';

export const TOKEN_FILE = 'join-tokens.json';

export class TokenStore {
  readonly file: string;

  constructor(state_dir: string) {
    this.file = path.join(state_dir, TOKEN_FILE);
  }

  read(): TokenRecord[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    try {
      const j = JSON.parse(text) as unknown;
      return Array.isArray(j) ? (j.filter(isRecord) as TokenRecord[]) : [];
    } catch {
      return [];
    }
  }

  write(records: readonly TokenRecord[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(records, null, 1));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}

function isRecord(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return typeof r['id'] === 'string' && typeof r['secret_sha256'] === 'string' && typeof r['expires_at_ms'] === 'number' && typeof r['created_at_ms'] === 'number' && (r['used_by'] === null || typeof r['used_by'] === 'string');
}
