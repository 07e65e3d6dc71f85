// `hakit cluster init`, `token` and `join`: what runs on the node where the admin types them
// (docs/cluster.md, "Build a cluster"). init writes the key, cluster.xml, the cluster CA and
// this node's certificate, the first admin and a join token; join fetches the same from a
// member over the token-keyed channel. Each checks everything before writing anything.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { genKey, installCluster } from '../config/cluster-store';
import { loadClusterConfig } from '../config/load';
import type { CommandRunner } from '../net/command-runner';
import { listInterfaceAddresses, type InterfaceAddress } from '../net/resolve-vip';
import { createClusterCa, installNodeCert, issueNodeCert, tlsDir, CA_CERT } from '../api/tls';
import { createFirstAdmin, USERS_FILE } from '../api/users/store';
import { DEFAULT_NODE_PORT, renderClusterXml, type ClusterXmlLan } from './pure/cluster-xml';
import { formatToken, makeToken, parseToken, recordFor, withRecord } from './pure/join-token';
import { channelRequest, CONFIG_PORT_OFFSET, TOKEN_IDENTITY_PREFIX, tokenChannelKey, secretSha256 } from './psk-channel';
import { parseJoinReply, type JoinReply } from './requests';
import { TokenStore } from './token-store';

export interface Dirs {
  readonly conf_dir: string;
  readonly state_dir: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Host name as `hostname -s` prints it: the default node name. */
export function shortHostname(): string {
  return os.hostname().split('.')[0] ?? os.hostname();
}

function checkName(name: string, what: string): string {
  if (!NAME.test(name)) throw new HakitError('HAKIT_E_USAGE', `"${name}" is not a valid ${what} (letters, digits, _ . -; at most 64)`, what);
  return name;
}

/** The address of the default route's interface, else the only non-loopback address. */
async function defaultAddress(cmd: CommandRunner, addrs: readonly InterfaceAddress[]): Promise<string> {
  const r = await cmd.run(['ip', '-j', '-4', 'route', 'show', 'default'], 5_000);
  try {
    const routes = JSON.parse(r.stdout) as Array<{ dev?: string }>;
    const dev = routes[0]?.dev;
    const a = addrs.find((x) => x.ifname === dev);
    if (a) return a.address;
  } catch {
    // fall through to the single-address rule
  }
  const real = addrs.filter((a) => !a.address.startsWith('127.'));
  if (real.length === 1) return real[0]!.address;
  throw new HakitError('HAKIT_E_CLUSTER_NO_ADDRESS', `no default route and ${real.length} addresses (${real.map((a) => a.address).join(', ') || 'none'}): name the LAN with --lan default=ADDRESS`, 'cluster init');
}

export interface InitOptions {
  readonly node: string;
  readonly cluster: string;
  /** name=address pairs; empty: one LAN "default" at the default route's address. */
  readonly lans: readonly string[];
  readonly force: boolean;
  readonly ttl_ms: number;
  readonly now_ms: number;
}

export interface InitResult {
  readonly cluster_xml: string;
  readonly addresses: readonly string[];
  readonly token: string;
  readonly token_expires_at_ms: number;
  readonly admin: { user: string; password: string } | null;
}

export async function initCluster(dirs: Dirs, o: InitOptions, cmd: CommandRunner): Promise<InitResult> {
  const xml = path.join(dirs.conf_dir, 'cluster.xml');
  if (fs.existsSync(xml) && !o.force) throw new HakitError('HAKIT_E_CLUSTER_EXISTS', 'this node is configured already; `hakit cluster token` prints a join token, --force starts a new cluster (every node must join again)', xml);
  checkName(o.node, 'node name');
  checkName(o.cluster, 'cluster name');
  const addrs = await listInterfaceAddresses(cmd);
  const pairs = o.lans.length > 0 ? o.lans : [`default=${await defaultAddress(cmd, addrs)}`];
  const lans: ClusterXmlLan[] = pairs.map((p, i) => {
    const eq = p.indexOf('=');
    const name = checkName(eq > 0 ? p.slice(0, eq) : '', 'LAN name (--lan NAME=ADDRESS)');
    const addr = p.slice(eq + 1);
    if (!addrs.some((a) => a.address === addr)) throw new HakitError('HAKIT_E_CLUSTER_NO_ADDRESS', `${addr} is not an address of this node (${addrs.map((a) => a.address).join(', ')})`, `--lan ${p}`);
    return { name, command: true, framework: true, replication: i === 0 && pairs.length > 1, nodes: [{ name: o.node, addr, port: DEFAULT_NODE_PORT }] };
  });
  const text = renderClusterXml({ name: o.cluster, keyfile: null, lans });
  const checked = loadCheck(text, dirs.conf_dir);
  fs.mkdirSync(dirs.conf_dir, { recursive: true, mode: 0o750 });
  genKey(path.join(dirs.conf_dir, 'cluster.key'), o.force);
  installText(text, dirs.conf_dir);
  const addresses = lans.map((l) => l.nodes[0]!.addr);
  await createClusterCa(dirs.conf_dir, checked, o.force);
  installNodeCert(dirs.conf_dir, await issueNodeCert(dirs.conf_dir, o.node, addresses));
  let admin: InitResult['admin'] = null;
  if (!fs.existsSync(path.join(dirs.conf_dir, USERS_FILE))) admin = await createFirstAdmin(dirs.conf_dir);
  const t = newToken(dirs, o.ttl_ms, o.now_ms);
  return { cluster_xml: xml, addresses, token: t.token, token_expires_at_ms: t.expires_at_ms, admin };
}

function loadCheck(text: string, conf_dir: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-cluster-'));
  try {
    const f = path.join(tmp, 'cluster.xml');
    fs.writeFileSync(f, text);
    const r = loadClusterConfig(f, 'cluster.xml', conf_dir);
    if (!r.ok) throw new HakitError(r.errors[0]!.code, r.errors.map((e) => e.message).join('; '), 'cluster.xml');
    return r.value.name;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function installText(text: string, conf_dir: string): void {
  const tmp = path.join(conf_dir, `.cluster.xml.new-${process.pid}`);
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  try {
    installCluster(tmp, { HAKIT_CONF_DIR: conf_dir });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** A new one-time join token, stored (as a hash) in the state dir. */
export function newToken(dirs: Dirs, ttl_ms: number, now_ms: number): { token: string; expires_at_ms: number } {
  const t = makeToken((n) => crypto.randomBytes(n));
  const store = new TokenStore(dirs.state_dir);
  const rec = recordFor(t, secretSha256(t.secret), now_ms, ttl_ms);
  store.write(withRecord(store.read(), rec, now_ms));
  return { token: formatToken(t), expires_at_ms: rec.expires_at_ms };
}

export interface JoinOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly node: string;
}

/** Joins through a member; writes the key, cluster.xml, TLS material and users only once the member said yes. */
export async function joinCluster(dirs: Dirs, o: JoinOptions, cmd: CommandRunner): Promise<JoinReply> {
  const token = parseToken(o.token);
  checkName(o.node, 'node name');
  const xml = path.join(dirs.conf_dir, 'cluster.xml');
  let current: string | null = null;
  if (fs.existsSync(xml)) {
    const r = loadClusterConfig(xml, 'cluster.xml', dirs.conf_dir);
    current = r.ok ? r.value.name : null;
    if (r.ok && r.value.nodes.some((n) => n.name === o.node)) throw new HakitError('HAKIT_E_CLUSTER_EXISTS', `this node is ${o.node} of cluster "${r.value.name}" already`, xml);
  }
  const addresses = (await listInterfaceAddresses(cmd)).map((a) => a.address).filter((a) => !a.startsWith('127.'));
  const raw = await channelRequest(o.host, o.port, `${TOKEN_IDENTITY_PREFIX}${token.id}`, tokenChannelKey(token.secret), { op: 'join', node: o.node, addresses, current_cluster: current }, undefined, 'HAKIT_E_JOIN_TOKEN_UNKNOWN');
  const reply = parseJoinReply(raw);
  fs.mkdirSync(dirs.conf_dir, { recursive: true, mode: 0o750 });
  writeSecret(path.join(dirs.conf_dir, 'cluster.key'), Buffer.from(reply.key_b64, 'base64'));
  installText(reply.cluster_xml, dirs.conf_dir);
  if (reply.tls !== null) {
    if (reply.tls.node_cert !== null && reply.tls.node_key !== null) installNodeCert(dirs.conf_dir, { cert: reply.tls.node_cert, key: reply.tls.node_key }, reply.tls.ca_cert);
    else writeSecret(path.join(tlsDir(dirs.conf_dir), CA_CERT), Buffer.from(reply.tls.ca_cert), 0o644);
  }
  if (reply.users_json !== null) writeSecret(path.join(dirs.conf_dir, USERS_FILE), Buffer.from(reply.users_json));
  return reply;
}

export const DEFAULT_CONFIG_PORT = DEFAULT_NODE_PORT + CONFIG_PORT_OFFSET;

function writeSecret(file: string, bytes: Buffer, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
