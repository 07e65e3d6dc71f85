// Join tokens (pure): `hkj1.<id>.<secret>`. The id names the token in the store; the secret
// (128 random bits) is the pre-shared key of the TLS channel the joining node opens, so it
// never travels, even encrypted. The store keeps only a hash of the secret, the expiry and
// whether it was used. Randomness and time are inputs.
import { HakitError } from '../../errors/catalogue';

export const TOKEN_PREFIX = 'hkj1';
export const TOKEN_ID_BYTES = 4;
export const TOKEN_SECRET_BYTES = 16;
/** Default lifetime of a join token (kubeadm uses 24 h; an hour is enough to run a join). */
export const DEFAULT_TOKEN_TTL_MS = 60 * 60_000;
export const MAX_TOKEN_TTL_MS = 24 * 60 * 60_000;
/** Tokens kept in the store at most (used and expired ones are pruned first). */
export const MAX_STORED_TOKENS = 64;

const ID_RE = /^[0-9a-f]{8}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{22}$/;

export interface JoinToken {
  readonly id: string;
  /** base64url of TOKEN_SECRET_BYTES random bytes. */
  readonly secret: string;
}

export interface TokenRecord {
  readonly id: string;
  /** sha256 of the secret, hex: the store never holds the secret itself. */
  readonly secret_sha256: string;
  readonly created_at_ms: number;
  readonly expires_at_ms: number;
  /** Node that used it, or null while unused. */
  readonly used_by: string | null;
}

export function makeToken(random: (n: number) => Buffer): JoinToken {
  return { id: random(TOKEN_ID_BYTES).toString('hex'), secret: random(TOKEN_SECRET_BYTES).toString('base64url') };
}

export function formatToken(t: JoinToken): string {
  return `${TOKEN_PREFIX}.${t.id}.${t.secret}`;
}

export function parseToken(text: string): JoinToken {
  const parts = text.trim().split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX || !ID_RE.test(parts[1]!) || !SECRET_RE.test(parts[2]!)) {
    throw new HakitError('HAKIT_E_JOIN_TOKEN_MALFORMED', 'expected hkj1.<8 hex digits>.<22 base64url characters>, as `hakit cluster token` prints it', '--token');
  }
  return { id: parts[1]!, secret: parts[2]! };
}

/** Parses a TTL like 30m, 2h, 900s (bounded by MAX_TOKEN_TTL_MS). */
export function parseTtl(text: string): number {
  const m = /^([1-9][0-9]{0,6})(s|m|h)$/.exec(text.trim());
  if (!m) throw new HakitError('HAKIT_E_USAGE', `"${text}" is not a duration like 900s, 30m or 2h`, '--ttl');
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 3_600_000);
  if (ms > MAX_TOKEN_TTL_MS) throw new HakitError('HAKIT_E_USAGE', `at most 24h`, '--ttl');
  return ms;
}

export function recordFor(t: JoinToken, sha256hex: string, now_ms: number, ttl_ms: number): TokenRecord {
  return { id: t.id, secret_sha256: sha256hex, created_at_ms: now_ms, expires_at_ms: now_ms + ttl_ms, used_by: null };
}

/** Why a record cannot admit a join now, or null when it can. */
export function tokenRefusal(r: TokenRecord | undefined, now_ms: number): HakitError | null {
  if (r === undefined) return new HakitError('HAKIT_E_JOIN_TOKEN_UNKNOWN', 'no such token on this node (print a new one with `hakit cluster token`)', 'join token');
  if (r.used_by !== null) return new HakitError('HAKIT_E_JOIN_TOKEN_USED', `token ${r.id} was used by node ${r.used_by}; print a new one with \`hakit cluster token\``, 'join token');
  if (now_ms >= r.expires_at_ms) return new HakitError('HAKIT_E_JOIN_TOKEN_EXPIRED', `token ${r.id} expired ${Math.round((now_ms - r.expires_at_ms) / 1000)} s ago; print a new one with \`hakit cluster token\``, 'join token');
  return null;
}

/** Live tokens may admit a join: the config service accepts token identities only while one exists. */
export function liveTokens(records: readonly TokenRecord[], now_ms: number): TokenRecord[] {
  return records.filter((r) => tokenRefusal(r, now_ms) === null);
}

/** The store after adding one record: used and expired ones go first when it is full. */
export function withRecord(records: readonly TokenRecord[], add: TokenRecord, now_ms: number): TokenRecord[] {
  let kept = [...records];
  if (kept.length >= MAX_STORED_TOKENS) kept = liveTokens(kept, now_ms);
  kept = kept.slice(Math.max(0, kept.length - (MAX_STORED_TOKENS - 1)));
  return [...kept, add];
}

export function markUsed(records: readonly TokenRecord[], id: string, node: string): TokenRecord[] {
  return records.map((r) => (r.id === id ? { ...r, used_by: node } : r));
}
