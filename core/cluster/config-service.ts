// The config service of a configured node (docs/cluster.md, "Build a cluster"): a TLS-PSK
// listener on each command LAN at the node's port + 1 (core/cluster/psk-channel.ts).
//  - A joining node, keyed by a live join token, asks to join: this node adds it to
//    cluster.xml (core/cluster/pure/join-plan.ts), pushes the new cluster.xml to the other
//    members, applies it, and hands the joiner cluster.xml, the cluster key and TLS material.
//  - Members, keyed by the cluster key, push cluster.xml or a module (.safe) to install, and
//    ask for a reload; each applies without restarting hakitd.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { installCluster } from '../config/cluster-store';
import { issuesToError, parseClusterText } from '../config/load';
import type { DeepReadonlyClusterConfig } from '../config/pure/types-frozen';
import type { LogSink } from '../log/sink';
import { RealCommandRunner } from '../net/command-runner';
import { listInterfaceAddresses } from '../net/resolve-vip';
import { checkModuleName, installModule } from '../../modules/store/module-store';
import type { ReloadReport } from '../control/api';
import { CA_KEY, issueNodeCert, readCaCert, tlsDir } from '../api/tls';
import { USERS_FILE } from '../api/users/store';
import { modelOf, renderClusterXml } from './pure/cluster-xml';
import { planJoin, type JoinRequest, type ServingLan } from './pure/join-plan';
import { markUsed, tokenRefusal, TOKEN_PREFIX } from './pure/join-token';
import { ChannelServer, channelRequest, clusterChannelKey, CLUSTER_IDENTITY, CONFIG_PORT_OFFSET, TOKEN_IDENTITY_PREFIX, tokenChannelKeyFromHash } from './psk-channel';
import { TokenStore } from './token-store';
import { parseJoinRequest, parseMemberRequest, type JoinReply } from './requests';

export interface ConfigServiceDeps {
  readonly node: string;
  readonly conf_dir: string;
  readonly state_dir: string;
  /** The cluster.xml in force now (it changes with joins and pushes). */
  readonly cluster: () => DeepReadonlyClusterConfig;
  readonly key: Buffer;
  readonly log: LogSink;
  readonly reload: () => Promise<ReloadReport>;
  readonly now_ms?: () => number;
}

/** The addresses and port this node's config service listens on (its command LANs). */
export function configEndpoints(cluster: DeepReadonlyClusterConfig, node: string): { address: string; port: number }[] {
  const out: { address: string; port: number }[] = [];
  for (const lan of cluster.lans) {
    if (!lan.command) continue;
    const me = lan.nodes.find((n) => n.name === node);
    if (me) out.push({ address: me.addr, port: me.port + CONFIG_PORT_OFFSET });
  }
  return out;
}

export class ConfigService {
  private readonly server: ChannelServer;
  private readonly tokens: TokenStore;
  private readonly now_ms: () => number;

  constructor(private readonly d: ConfigServiceDeps) {
    this.tokens = new TokenStore(d.state_dir);
    // Token expiry is wall-clock time: tokens outlive processes and are compared with the time they were printed at.
    this.now_ms = d.now_ms ?? (() => Date.now());
    this.server = new ChannelServer({
      keyFor: (identity) => this.keyFor(identity),
      handle: (identity, request, peer) => this.handle(identity, request, peer),
      onError: (e, peer) => this.d.log.warn({ peer, err: e instanceof Error ? e.message : String(e) }, 'config service: request refused'),
    });
  }

  async start(): Promise<void> {
    for (const ep of configEndpoints(this.d.cluster(), this.d.node)) {
      try {
        await this.server.listen(ep.address, ep.port);
      } catch (e) {
        this.d.log.error({ address: ep.address, port: ep.port, err: e instanceof Error ? e.message : String(e) }, 'config service cannot listen there (joins and pushes to this address fail)');
      }
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private keyFor(identity: string): Buffer | null {
    if (identity === CLUSTER_IDENTITY) return clusterChannelKey(this.d.key);
    if (!identity.startsWith(TOKEN_IDENTITY_PREFIX)) return null;
    const id = identity.slice(TOKEN_IDENTITY_PREFIX.length);
    const r = this.tokens.read().find((x) => x.id === id);
    // A known token keys the channel even when used or expired: whoever completes the
    // handshake holds its secret, and is then told exactly why it is refused. An unknown id
    // (or a wrong secret) fails the handshake itself.
    return r === undefined ? null : tokenChannelKeyFromHash(r.secret_sha256);
  }

  private async handle(identity: string, raw: unknown, peer: string): Promise<unknown> {
    if (identity.startsWith(TOKEN_IDENTITY_PREFIX)) return this.join(identity.slice(TOKEN_IDENTITY_PREFIX.length), parseJoinRequest(raw), peer);
    if (identity !== CLUSTER_IDENTITY) throw new HakitError('HAKIT_E_JOIN_REFUSED', 'unknown identity', 'config service');
    const req = parseMemberRequest(raw);
    switch (req.op) {
      case 'ping':
        return { node: this.d.node, cluster: this.d.cluster().name };
      case 'reload':
        return this.d.reload();
      case 'install-cluster-xml':
        return this.installClusterText(req.text);
      case 'install-module':
        return this.installModuleBytes(req.name, Buffer.from(req.safe_b64, 'base64'));
    }
  }

  private async installClusterText(text: string): Promise<ReloadReport> {
    const parsed = parseClusterText(text, 'pushed cluster.xml', this.d.conf_dir);
    if (!parsed.ok) throw issuesToError(parsed.errors);
    if (parsed.value.name !== this.d.cluster().name) throw new HakitError('HAKIT_E_JOIN_OTHER_CLUSTER', `pushed cluster.xml is for cluster "${parsed.value.name}", this node is in "${this.d.cluster().name}"`, 'config service');
    if (!parsed.value.nodes.some((n) => n.name === this.d.node)) throw new HakitError('HAKIT_E_CONFIG_PUSH', `pushed cluster.xml does not list this node (${this.d.node})`, 'config service');
    this.installText(text);
    return this.d.reload();
  }

  private installText(text: string): void {
    const tmp = path.join(this.d.conf_dir, `.cluster.xml.push-${process.pid}`);
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    try {
      installCluster(tmp, { HAKIT_CONF_DIR: this.d.conf_dir });
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  private async installModuleBytes(name: string, bytes: Buffer): Promise<{ release: number; reload: ReloadReport }> {
    // parseMemberRequest checked the name already; it is a path component below, so again.
    checkModuleName(name);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-push-'));
    try {
      const file = path.join(dir, `${name}.safe`);
      fs.writeFileSync(file, bytes, { mode: 0o600 });
      const r = await installModule(file, name, { HAKIT_CONF_DIR: this.d.conf_dir, HAKIT_STATE_DIR: this.d.state_dir });
      this.d.log.info({ module: r.name, release: r.release }, 'module installed by a cluster member');
      return { release: r.release, reload: await this.d.reload() };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  private async servingLans(): Promise<ServingLan[]> {
    const addrs = await listInterfaceAddresses(new RealCommandRunner());
    const out: ServingLan[] = [];
    for (const lan of this.d.cluster().lans) {
      const me = lan.nodes.find((n) => n.name === this.d.node);
      const itf = me === undefined ? undefined : addrs.find((a) => a.address === me.addr);
      if (me !== undefined && itf !== undefined) out.push({ lan: lan.name, address: me.addr, prefix_len: itf.prefix_len });
    }
    return out;
  }

  private async join(token_id: string, req: JoinRequest, peer: string): Promise<JoinReply> {
    const log = this.d.log;
    const records = this.tokens.read();
    const refusal = tokenRefusal(records.find((r) => r.id === token_id), this.now_ms());
    if (refusal !== null) throw refusal;
    const defaultKeyfile = path.join(this.d.conf_dir, 'cluster.key');
    const port = this.d.cluster().lans[0]?.nodes.find((n) => n.name === this.d.node)?.port ?? 9010;
    const model = planJoin(modelOf(this.d.cluster(), defaultKeyfile), req, await this.servingLans(), port);
    const text = renderClusterXml(model);
    const parsed = parseClusterText(text, 'cluster.xml after the join', this.d.conf_dir);
    if (!parsed.ok) throw issuesToError(parsed.errors);
    const tls = await this.tlsFor(req.node, parsed.value);
    this.installText(text);
    this.tokens.write(markUsed(records, token_id, req.node));
    log.warn({ node: req.node, from: peer, token: `${TOKEN_PREFIX}.${token_id}` }, 'a node joined the cluster');
    const pushed = await this.pushToMembers(text, parsed.value, req.node);
    await this.d.reload();
    const users = path.join(this.d.conf_dir, USERS_FILE);
    const users_json = fs.existsSync(users) ? fs.readFileSync(users, 'utf8') : null;
    return { cluster: parsed.value.name, cluster_xml: text, key_b64: this.d.key.toString('base64'), tls, users_json, pushed };
  }

  /** The joiner's TLS material: the CA certificate, and a node certificate when this node holds the CA key. */
  private async tlsFor(node: string, cluster: DeepReadonlyClusterConfig): Promise<JoinReply['tls']> {
    const ca_cert = readCaCert(this.d.conf_dir);
    if (ca_cert === null) return null;
    if (!fs.existsSync(path.join(tlsDir(this.d.conf_dir), CA_KEY))) return { ca_cert, node_cert: null, node_key: null };
    const addresses = cluster.nodes.find((n) => n.name === node)?.addrs ?? {};
    const pems = await issueNodeCert(this.d.conf_dir, node, Object.values(addresses).map((a) => a.addr));
    return { ca_cert, node_cert: pems.cert, node_key: pems.key };
  }

  /** Sends the new cluster.xml to every other member; a member that cannot be reached is reported, not fatal (it gets it with `hakit cluster push`). */
  private async pushToMembers(text: string, cluster: DeepReadonlyClusterConfig, joiner: string): Promise<{ node: string; ok: boolean; error?: string }[]> {
    const out: { node: string; ok: boolean; error?: string }[] = [];
    for (const n of cluster.nodes) {
      if (n.name === this.d.node || n.name === joiner) continue;
      const ep = configEndpoints(cluster, n.name)[0];
      if (ep === undefined) continue;
      try {
        await channelRequest(ep.address, ep.port, CLUSTER_IDENTITY, clusterChannelKey(this.d.key), { op: 'install-cluster-xml', text });
        out.push({ node: n.name, ok: true });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        this.d.log.error({ node: n.name, err: error }, 'cannot push the new cluster.xml to a member');
        out.push({ node: n.name, ok: false, error });
      }
    }
    return out;
  }
}

