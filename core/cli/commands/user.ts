// `hakit user add|passwd|del|list` and `hakit apikey add|del|list`: the API's users and API
// keys, in <conf>/api-users.json on this node. A running hakitd sees the change within a
// second and hands the file to the other nodes (docs/api.md "Users on every node").
import readline from 'node:readline';
import { Argument, type Command } from 'commander';
import { HakitError } from '../../errors/catalogue';
import { confDir } from '../../config/paths';
import { isRole, ROLES, type Role } from '../../api/contract/pure/roles';
import { USER_NAME_PATTERN } from '../../api/contract/pure/schema';
import { apiKeyAdd, apiKeyDel, readUsers, userAdd, userDel, userPasswd } from '../../api/users/store';
import { generatePassword } from '../../api/users/password';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
/** A password read from a pipe is one line; longer input is refused. */
const MAX_STDIN_BYTES = 4096;

function checkName(name: string): string {
  if (!new RegExp(USER_NAME_PATTERN).test(name)) throw new HakitError('HAKIT_E_USAGE', `"${name}" is not a user name (${USER_NAME_PATTERN})`, 'hakit user');
  return name;
}

function checkRole(role: string): Role {
  if (!isRole(role)) throw new HakitError('HAKIT_E_USAGE', `"${role}" is not a role (${ROLES.join(', ')})`, 'hakit user');
  return role;
}

function readLineStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c: string) => {
      buf += c;
      if (buf.length > MAX_STDIN_BYTES) reject(new HakitError('HAKIT_E_USAGE', 'password input too long', 'stdin'));
    });
    process.stdin.on('end', () => resolve(buf.split('\n')[0] ?? ''));
    process.stdin.on('error', reject);
  });
}

/** Asks twice on the terminal without echo. */
async function promptTwice(): Promise<string> {
  const ask = (q: string): Promise<string> =>
    new Promise((resolve) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      const w = rl as unknown as { _writeToOutput: (s: string) => void };
      process.stderr.write(q);
      w._writeToOutput = () => undefined;
      rl.question('', (a) => {
        rl.close();
        process.stderr.write('\n');
        resolve(a);
      });
    });
  const a = await ask('Password: ');
  const b = await ask('Again: ');
  if (a !== b) throw new HakitError('HAKIT_E_USAGE', 'the two passwords differ', 'hakit user');
  return a;
}

/** The new password: generated (printed once), from a pipe, or typed twice. */
async function newPassword(generate: boolean): Promise<{ password: string; shown: boolean }> {
  if (generate) return { password: generatePassword(), shown: true };
  if (!process.stdin.isTTY) return { password: await readLineStdin(), shown: false };
  return { password: await promptTwice(), shown: false };
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('API users and their roles (admin, control, monitor), kept identical on every node');
  user
    .command('add')
    .description('add a user; the password is typed twice, read from a pipe, or generated with --generate')
    .argument('<name>', 'user name')
    .addArgument(new Argument('<role>', 'role').choices([...ROLES]))
    .option('--generate', 'generate a random password and print it once')
    .action(async (name: string, role: string, opts: { generate?: boolean }) => {
      const p = await newPassword(Boolean(opts.generate));
      await userAdd(confDir(), checkName(name), checkRole(role), p.password);
      out(`user ${name} added (${role})${p.shown ? `; password: ${p.password}` : ''}`);
    });
  user
    .command('passwd')
    .description('set a user\'s password (their sessions end)')
    .argument('<name>', 'user name')
    .option('--generate', 'generate a random password and print it once')
    .action(async (name: string, opts: { generate?: boolean }) => {
      const p = await newPassword(Boolean(opts.generate));
      await userPasswd(confDir(), checkName(name), p.password);
      out(`password of ${name} changed${p.shown ? `: ${p.password}` : ''}`);
    });
  user
    .command('del')
    .description('delete a user (the last admin cannot be deleted)')
    .argument('<name>', 'user name')
    .action(async (name: string) => {
      await userDel(confDir(), checkName(name));
      out(`user ${name} deleted`);
    });
  user
    .command('list')
    .description('list the users and their roles')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const d = readUsers(confDir());
      if (opts.json) return out(JSON.stringify(d.users.map((u) => ({ name: u.name, role: u.role })), null, 2));
      if (d.users.length === 0) out('no user (hakit cluster init makes the first admin)');
      for (const u of d.users) out(`${u.name.padEnd(24)} ${u.role}`);
    });

  const key = program.command('apikey').description('API keys: bearer tokens with a role, for scripts and monitoring (Prometheus)');
  key
    .command('add')
    .description('create an API key and print its token once (only its hash is kept)')
    .argument('<name>', 'key name')
    .addArgument(new Argument('<role>', 'role').choices([...ROLES]))
    .action(async (name: string, role: string) => {
      const r = await apiKeyAdd(confDir(), checkName(name), checkRole(role));
      out(`API key ${name} (${role}): ${r.token}`);
      out('Send it as "Authorization: Bearer TOKEN"; it is not shown again.');
    });
  key
    .command('del')
    .description('revoke an API key')
    .argument('<name>', 'key name')
    .action(async (name: string) => {
      await apiKeyDel(confDir(), checkName(name));
      out(`API key ${name} revoked`);
    });
  key
    .command('list')
    .description('list the API keys (names, roles, creation time)')
    .action(() => {
      const d = readUsers(confDir());
      if (d.apikeys.length === 0) out('no API key');
      for (const k of d.apikeys) out(`${k.name.padEnd(24)} ${k.role.padEnd(8)} ${k.created_at}`);
    });
}
