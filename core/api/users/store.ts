// The users file <conf>/api-users.json (0600, root): read, changed atomically, and kept
// identical on every node (docs/api.md "Users on every node"). Each change bumps `serial`;
// the daemon pushes the file to its peers and pulls theirs at start, keeping the highest.
import fs from 'node:fs';
import path from 'node:path';
import { HakitError } from '../../errors/catalogue';
import { writeSecure } from '../tls/openssl-ca';
import type { Role } from '../contract/pure/roles';
import { addApiKey, addUser, deleteApiKey, deleteUser, EMPTY_USERS_DOC, parseUsersDoc, setUser, type UsersDoc } from '../pure/users-doc';
import { checkPasswordStrength, generatePassword, hashPassword, newApiToken } from './password';

export const USERS_FILE = 'api-users.json';
export const MAX_USERS_FILE_BYTES = 512 * 1024;

export function usersFile(conf_dir: string): string {
  return path.join(conf_dir, USERS_FILE);
}

/** The document, or the empty one when the file does not exist. */
export function readUsers(conf_dir: string): UsersDoc {
  const file = usersFile(conf_dir);
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_USERS_FILE_BYTES) throw new HakitError('HAKIT_E_AUTH_USERS_FILE', `larger than ${MAX_USERS_FILE_BYTES} bytes`, file);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_USERS_DOC;
    if (e instanceof HakitError) throw e;
    throw new HakitError('HAKIT_E_AUTH_USERS_FILE', (e as Error).message, file);
  }
  return parseUsersDoc(text, file);
}

export function writeUsers(conf_dir: string, d: UsersDoc): void {
  try {
    writeSecure(usersFile(conf_dir), JSON.stringify(d, null, 1) + '\n', 0o600);
  } catch (e) {
    throw new HakitError('HAKIT_E_AUTH_USERS_FILE', (e as Error).message, usersFile(conf_dir));
  }
}

const nowIso = (): string => new Date().toISOString();

/** Read, change, write. Changes are rare (an admin's command): no lock beyond the atomic rename. */
async function change(conf_dir: string, f: (d: UsersDoc) => UsersDoc | Promise<UsersDoc>): Promise<UsersDoc> {
  const next = await f(readUsers(conf_dir));
  writeUsers(conf_dir, next);
  return next;
}

export async function userAdd(conf_dir: string, name: string, role: Role, password: string): Promise<UsersDoc> {
  checkPasswordStrength(password);
  const hash = await hashPassword(password);
  return change(conf_dir, (d) => addUser(d, { name, role, hash }, nowIso()));
}

export async function userPasswd(conf_dir: string, name: string, password: string): Promise<UsersDoc> {
  checkPasswordStrength(password);
  const hash = await hashPassword(password);
  return change(conf_dir, (d) => setUser(d, name, { hash }, nowIso()));
}

export function userDel(conf_dir: string, name: string): Promise<UsersDoc> {
  return change(conf_dir, (d) => deleteUser(d, name, nowIso()));
}

export async function apiKeyAdd(conf_dir: string, name: string, role: Role): Promise<{ doc: UsersDoc; token: string; created_at: string }> {
  const { token, sha256 } = newApiToken();
  const created_at = nowIso();
  const doc = await change(conf_dir, (d) => addApiKey(d, { name, role, sha256, created_at }, created_at));
  return { doc, token, created_at };
}

export function apiKeyDel(conf_dir: string, name: string): Promise<UsersDoc> {
  return change(conf_dir, (d) => deleteApiKey(d, name, nowIso()));
}

/**
 * The first admin, made by `hakit cluster init` (or the installer): user `admin` with a
 * random one-time password that the caller prints once. Refuses when users exist already:
 * there is never a default password, and never a second silent reset.
 */
export async function createFirstAdmin(conf_dir: string): Promise<{ user: 'admin'; password: string }> {
  const d = readUsers(conf_dir);
  if (d.users.length > 0) throw new HakitError('HAKIT_E_AUTH_USER_EXISTS', `users exist already (${d.users.map((u) => u.name).join(', ')}); use hakit user passwd`, usersFile(conf_dir));
  const password = generatePassword();
  await userAdd(conf_dir, 'admin', 'admin', password);
  return { user: 'admin', password };
}
