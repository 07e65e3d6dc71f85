// The API's material for a lab cluster, made as `hakit cluster init/join` will make it: a
// cluster CA and one certificate per node (SANs = the node's lab addresses), the users file
// with a first admin whose password is generated for this run. Written into each node's own
// /etc/hakit (lab hosts have private /etc). Used by `npm run demo` and the API lab test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { Lab } from '../../lab/index';
import { NODE, ROOT, startDetached, until, writeOn } from '../../lab/demo/cluster-setup';
import { createClusterCa, issueNodeCert } from '../../../core/api/tls';
import { createFirstAdmin, usersFile } from '../../../core/api/users/store';

export interface ApiProvisioned {
  readonly user: 'admin';
  readonly password: string;
  /** The CA certificate (PEM), to verify the nodes from the host. */
  readonly ca: string;
}

export async function provisionApi(lab: Lab, nodes: readonly string[], lans: readonly number[], cluster_name: string): Promise<ApiProvisioned> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-lab-api-'));
  try {
    await createClusterCa(work, cluster_name);
    const ca = fs.readFileSync(path.join(work, 'tls', 'ca.crt'), 'utf8');
    const admin = await createFirstAdmin(work);
    const users = fs.readFileSync(usersFile(work), 'utf8');
    for (const n of nodes) {
      const pems = await issueNodeCert(work, n, lans.map((l) => lab.addr(n, l)));
      await writeOn(lab, n, '/etc/hakit/tls/ca.crt', ca, '644');
      await writeOn(lab, n, '/etc/hakit/tls/node.key', pems.key, '600');
      await writeOn(lab, n, '/etc/hakit/tls/node.crt', pems.cert, '644');
      await writeOn(lab, n, '/etc/hakit/api-users.json', users, '600');
    }
    return { user: admin.user, password: admin.password, ca };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Where the demo's console is reached from the host (the root namespace). */
export const CONSOLE_BIND = '127.0.0.1';
export const CONSOLE_PORT = 9453;
/** In /run, which the host and the lab hosts share; one per lab. */
const relaySocket = (lab: Lab): string => `/run/hakit-lab-console-${lab.name || 'default'}.sock`;
const RELAY_WAIT_MS = 30_000;

function relayScript(): string {
  // Runs the built JS beside this file (src or dist alike resolve to dist).
  const here = __dirname.includes(`${path.sep}dist${path.sep}`) ? __dirname : path.join(ROOT, 'dist', 'test', 'api', 'lab');
  return path.join(here, 'console-relay.js');
}

function answers(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * Makes `node`'s API reachable at https://127.0.0.1:9453/ from the host: a pipe in the node
 * (unix socket -> its API) and one on the host (127.0.0.1:9453 -> the socket), see
 * console-relay.ts. Resolves with the URL once it answers.
 */
export async function startConsoleRelay(lab: Lab, node: string, api_port: number, ca: string, host_port = CONSOLE_PORT): Promise<string> {
  await startDetached(lab, node, [NODE, relayScript(), 'inside', relaySocket(lab), lab.addr(node, 0), String(api_port)], '/var/log/hakit/console-relay.out');
  const out = spawn(NODE, [relayScript(), 'outside', relaySocket(lab), CONSOLE_BIND, String(host_port)], { detached: true, stdio: 'ignore' });
  out.unref();
  // It runs in the machine's namespaces, where `lab down` kills nothing by itself: recorded.
  if (out.pid !== undefined) lab.recordHostProcess(out.pid, 'console relay (outside)');
  const url = `https://${CONSOLE_BIND}:${host_port}/`;
  if (!(await until(() => answers(url, ca), RELAY_WAIT_MS, 500))) throw new Error(`the console relay does not answer at ${url} after ${RELAY_WAIT_MS} ms`);
  return url;
}
