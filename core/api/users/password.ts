// Password hashing with scrypt (N=2^15, r=8, p=1: about 32 MiB and tens of ms per hash).
// Hashes run at most MAX_CONCURRENT_HASHES at a time and at most MAX_QUEUED_HASHES wait,
// so a login flood costs bounded memory and CPU (the login limiter stops it earlier).
import crypto from 'node:crypto';
import { HakitError } from '../../errors/catalogue';
import { PASSWORD_MAX, PASSWORD_MIN } from '../contract/pure/schema';

export const SCRYPT_N = 1 << 15;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const SCRYPT_MAXMEM = 128 * SCRYPT_N * SCRYPT_R * 2;
export const MAX_CONCURRENT_HASHES = 2;
export const MAX_QUEUED_HASHES = 16;

let running = 0;
const waiting: Array<() => void> = [];

async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) {
    if (waiting.length >= MAX_QUEUED_HASHES) throw new HakitError('HAKIT_E_API_TOO_BUSY', 'too many logins at once', 'password check');
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => crypto.scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: Math.max(SCRYPT_MAXMEM, 128 * n * r * 2) }, (e, k) => (e ? reject(e) : resolve(k))));
}

export function checkPasswordStrength(password: string): void {
  if (password.length < PASSWORD_MIN) throw new HakitError('HAKIT_E_AUTH_WEAK_PASSWORD', `at least ${PASSWORD_MIN} characters`, 'password');
  if (password.length > PASSWORD_MAX) throw new HakitError('HAKIT_E_AUTH_WEAK_PASSWORD', `at most ${PASSWORD_MAX} characters`, 'password');
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(SALT_BYTES);
  const k = await slot(() => scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P));
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64')}$${k.toString('base64')}`;
}

/** A fixed hash to check against when the user does not exist, so timing does not tell names. */
const DUMMY = `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${Buffer.alloc(SALT_BYTES).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;

export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parts = (stored ?? DUMMY).split('$');
  const n = Number(parts[1]);
  const r = Number(parts[2]);
  const p = Number(parts[3]);
  // Parameters come from our own file, but bound them anyway (a tampered file must not OOM us).
  if (parts.length !== 6 || n > 1 << 20 || r > 32 || p > 16 || n < 2) return false;
  const want = Buffer.from(parts[5] ?? '', 'base64');
  const got = await slot(() => scrypt(password, Buffer.from(parts[4] ?? '', 'base64'), n, r, p));
  return stored !== undefined && want.length === got.length && crypto.timingSafeEqual(want, got);
}

/** A random password (first admin, demo): 20 characters of a 57-letter alphabet without look-alikes (~116 bits). */
export function generatePassword(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  while (out.length < length) {
    for (const b of crypto.randomBytes(length * 2)) {
      // Rejection sampling keeps every letter equally likely.
      if (b < 256 - (256 % alphabet.length) && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

export function newApiToken(): { token: string; sha256: string } {
  const token = `hk_${crypto.randomBytes(32).toString('hex')}`;
  return { token, sha256: sha256Hex(token) };
}

export function sha256Hex(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}
