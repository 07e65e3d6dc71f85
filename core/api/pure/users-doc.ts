// The users file's document (pure): users with scrypt hashes, API keys with SHA-256 hashes of
// their tokens. `serial` grows by one on every change, so nodes keep the newest copy
// (docs/api.md "Users on every node").
import { HakitError } from '../../errors/catalogue';
import { isRole, type Role } from '../contract/pure/roles';
import { USER_NAME_PATTERN } from '../contract/pure/schema';

export const USERS_DOC_VERSION = 1;
export const MAX_USERS = 256;
export const MAX_API_KEYS = 256;

export interface UserEntry {
  readonly name: string;
  readonly role: Role;
  /** `scrypt$N$r$p$salt_b64$hash_b64`. */
  readonly hash: string;
}
export interface ApiKeyEntry {
  readonly name: string;
  readonly role: Role;
  /** hex SHA-256 of the token (tokens are 256-bit random: no slow hash needed). */
  readonly sha256: string;
  readonly created_at: string;
}
export interface UsersDoc {
  readonly version: number;
  readonly serial: number;
  readonly updated_at: string;
  readonly users: readonly UserEntry[];
  readonly apikeys: readonly ApiKeyEntry[];
}

export const EMPTY_USERS_DOC: UsersDoc = { version: USERS_DOC_VERSION, serial: 0, updated_at: '1970-01-01T00:00:00.000Z', users: [], apikeys: [] };

const NAME = new RegExp(USER_NAME_PATTERN);
const HASH = /^scrypt\$\d{1,8}\$\d{1,3}\$\d{1,3}\$[A-Za-z0-9+/=]{8,100}\$[A-Za-z0-9+/=]{16,200}$/;
const SHA = /^[0-9a-f]{64}$/;

function bad(where: string, message: string): HakitError {
  return new HakitError('HAKIT_E_AUTH_USERS_FILE', message, where);
}

export function parseUsersDoc(text: string, where: string): UsersDoc {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw bad(where, 'not JSON');
  }
  if (typeof j !== 'object' || j === null) throw bad(where, 'not an object');
  const o = j as Record<string, unknown>;
  if (o['version'] !== USERS_DOC_VERSION) throw bad(where, `"version" must be ${USERS_DOC_VERSION}`);
  if (typeof o['serial'] !== 'number' || !Number.isSafeInteger(o['serial']) || o['serial'] < 0) throw bad(where, '"serial" must be a non-negative integer');
  if (typeof o['updated_at'] !== 'string') throw bad(where, '"updated_at" must be a string');
  const users = o['users'];
  const keys = o['apikeys'];
  if (!Array.isArray(users) || users.length > MAX_USERS) throw bad(where, `"users" must be an array of at most ${MAX_USERS}`);
  if (!Array.isArray(keys) || keys.length > MAX_API_KEYS) throw bad(where, `"apikeys" must be an array of at most ${MAX_API_KEYS}`);
  const names = new Set<string>();
  const outUsers: UserEntry[] = users.map((u: unknown, i) => {
    const x = (u ?? {}) as Record<string, unknown>;
    if (typeof x['name'] !== 'string' || !NAME.test(x['name']) || names.has(x['name'])) throw bad(`${where} users[${i}]`, 'bad or duplicate "name"');
    if (!isRole(x['role'])) throw bad(`${where} users[${i}]`, '"role" must be admin, control or monitor');
    if (typeof x['hash'] !== 'string' || !HASH.test(x['hash'])) throw bad(`${where} users[${i}]`, '"hash" is not an scrypt hash');
    names.add(x['name']);
    return { name: x['name'], role: x['role'], hash: x['hash'] };
  });
  const keyNames = new Set<string>();
  const outKeys: ApiKeyEntry[] = keys.map((k: unknown, i) => {
    const x = (k ?? {}) as Record<string, unknown>;
    if (typeof x['name'] !== 'string' || !NAME.test(x['name']) || keyNames.has(x['name'])) throw bad(`${where} apikeys[${i}]`, 'bad or duplicate "name"');
    if (!isRole(x['role'])) throw bad(`${where} apikeys[${i}]`, '"role" must be admin, control or monitor');
    if (typeof x['sha256'] !== 'string' || !SHA.test(x['sha256'])) throw bad(`${where} apikeys[${i}]`, '"sha256" is not a hex SHA-256');
    if (typeof x['created_at'] !== 'string') throw bad(`${where} apikeys[${i}]`, '"created_at" must be a string');
    keyNames.add(x['name']);
    return { name: x['name'], role: x['role'], sha256: x['sha256'], created_at: x['created_at'] };
  });
  return { version: USERS_DOC_VERSION, serial: o['serial'], updated_at: o['updated_at'], users: outUsers, apikeys: outKeys };
}

function bump(d: UsersDoc, now_iso: string, patch: Partial<Pick<UsersDoc, 'users' | 'apikeys'>>): UsersDoc {
  return { ...d, ...patch, serial: d.serial + 1, updated_at: now_iso };
}

const admins = (users: readonly UserEntry[]) => users.filter((u) => u.role === 'admin').length;

export function addUser(d: UsersDoc, u: UserEntry, now_iso: string): UsersDoc {
  if (d.users.some((x) => x.name === u.name)) throw new HakitError('HAKIT_E_AUTH_USER_EXISTS', `user "${u.name}" exists`, 'users');
  if (d.users.length >= MAX_USERS) throw new HakitError('HAKIT_E_AUTH_USERS_FILE', `at most ${MAX_USERS} users`, 'users');
  return bump(d, now_iso, { users: [...d.users, u] });
}

export function setUser(d: UsersDoc, name: string, patch: { hash?: string; role?: Role }, now_iso: string): UsersDoc {
  const u = d.users.find((x) => x.name === name);
  if (!u) throw new HakitError('HAKIT_E_AUTH_NO_USER', `no user "${name}"`, 'users');
  const users = d.users.map((x) => (x.name === name ? { ...x, ...patch } : x));
  if (admins(users) === 0 && admins(d.users) > 0) throw new HakitError('HAKIT_E_AUTH_LAST_ADMIN', `"${name}" is the last admin`, 'users');
  return bump(d, now_iso, { users });
}

export function deleteUser(d: UsersDoc, name: string, now_iso: string): UsersDoc {
  if (!d.users.some((x) => x.name === name)) throw new HakitError('HAKIT_E_AUTH_NO_USER', `no user "${name}"`, 'users');
  const users = d.users.filter((x) => x.name !== name);
  if (admins(users) === 0 && admins(d.users) > 0) throw new HakitError('HAKIT_E_AUTH_LAST_ADMIN', `"${name}" is the last admin`, 'users');
  return bump(d, now_iso, { users });
}

export function addApiKey(d: UsersDoc, k: ApiKeyEntry, now_iso: string): UsersDoc {
  if (d.apikeys.some((x) => x.name === k.name)) throw new HakitError('HAKIT_E_AUTH_USER_EXISTS', `API key "${k.name}" exists`, 'API keys');
  if (d.apikeys.length >= MAX_API_KEYS) throw new HakitError('HAKIT_E_AUTH_USERS_FILE', `at most ${MAX_API_KEYS} API keys`, 'API keys');
  return bump(d, now_iso, { apikeys: [...d.apikeys, k] });
}

export function deleteApiKey(d: UsersDoc, name: string, now_iso: string): UsersDoc {
  if (!d.apikeys.some((x) => x.name === name)) throw new HakitError('HAKIT_E_AUTH_NO_USER', `no API key "${name}"`, 'API keys');
  return bump(d, now_iso, { apikeys: d.apikeys.filter((x) => x.name !== name) });
}

/** Which of two copies a node keeps: the higher serial; on a tie, the later update, then the text order (deterministic). */
export function newerDoc(a: UsersDoc, b: UsersDoc): UsersDoc {
  if (a.serial !== b.serial) return a.serial > b.serial ? a : b;
  if (a.updated_at !== b.updated_at) return a.updated_at > b.updated_at ? a : b;
  return JSON.stringify(a) >= JSON.stringify(b) ? a : b;
}
