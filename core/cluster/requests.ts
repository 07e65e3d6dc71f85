// The config service's requests and replies, checked field by field: anything else is a
// coded HAKIT_E_CONFIG_SERVICE_BAD_REQUEST, whoever sent it.
import { HakitError } from '../errors/catalogue';
import { moduleNameMessage, moduleNameProblem } from '../config/pure/module-name';
import type { JoinRequest } from './pure/join-plan';

export type MemberRequest =
  | { readonly op: 'ping' }
  | { readonly op: 'reload' }
  | { readonly op: 'install-cluster-xml'; readonly text: string }
  | { readonly op: 'install-module'; readonly name: string; readonly safe_b64: string };

export interface JoinReply {
  readonly cluster: string;
  readonly cluster_xml: string;
  readonly key_b64: string;
  /** null when the cluster has no TLS material (the API then waits for a certificate). */
  readonly tls: { readonly ca_cert: string; readonly node_cert: string | null; readonly node_key: string | null } | null;
  /** The API users file (core/api/users), identical on every node; null when there is none. */
  readonly users_json: string | null;
  /** The other members told of the new cluster.xml. */
  readonly pushed: readonly { readonly node: string; readonly ok: boolean; readonly error?: string }[];
}

const MAX_ADDRESSES = 64;
const MAX_CLUSTER_XML_CHARS = 256 * 1024;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function bad(message: string): HakitError {
  return new HakitError('HAKIT_E_CONFIG_SERVICE_BAD_REQUEST', message, 'config service');
}

function obj(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('a request is a JSON object');
  return raw as Record<string, unknown>;
}

function str(o: Record<string, unknown>, k: string, max: number): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(`"${k}" must be a string of 1..${max} characters`);
  return v;
}

export function parseJoinRequest(raw: unknown): JoinRequest {
  const o = obj(raw);
  if (o['op'] !== 'join') throw bad('a join token only allows {"op":"join"}');
  const addresses = o['addresses'];
  if (!Array.isArray(addresses) || addresses.length === 0 || addresses.length > MAX_ADDRESSES || !addresses.every((a) => typeof a === 'string' && IPV4.test(a))) {
    throw bad(`"addresses" must list 1..${MAX_ADDRESSES} IPv4 addresses`);
  }
  const cur = o['current_cluster'];
  if (cur !== null && typeof cur !== 'string') throw bad('"current_cluster" must be a name or null');
  return { node: str(o, 'node', 64), addresses: addresses as string[], current_cluster: cur };
}

export function parseMemberRequest(raw: unknown): MemberRequest {
  const o = obj(raw);
  switch (o['op']) {
    case 'ping':
    case 'reload':
      return { op: o['op'] };
    case 'install-cluster-xml':
      return { op: 'install-cluster-xml', text: str(o, 'text', MAX_CLUSTER_XML_CHARS) };
    case 'install-module': {
      // The name becomes a file name (config-service.ts writes NAME.safe before installing):
      // check it here, before anything is written, so "../x/victim" never leaves the temp dir.
      const name = str(o, 'name', 64);
      if (moduleNameProblem(name) !== null) throw new HakitError('HAKIT_E_MOD_NAME', moduleNameMessage(name), 'config service (install-module)');
      return { op: 'install-module', name, safe_b64: str(o, 'safe_b64', 64 * 1024 * 1024) };
    }
    default:
      throw bad(`unknown op ${JSON.stringify(o['op'])} (ping, reload, install-cluster-xml, install-module)`);
  }
}

export function parseJoinReply(raw: unknown): JoinReply {
  const o = obj(raw);
  const tls = o['tls'];
  if (tls !== null && (typeof tls !== 'object' || typeof (tls as Record<string, unknown>)['ca_cert'] !== 'string')) throw bad('"tls" must be null or hold "ca_cert"');
  return {
    cluster: str(o, 'cluster', 64),
    cluster_xml: str(o, 'cluster_xml', MAX_CLUSTER_XML_CHARS),
    key_b64: str(o, 'key_b64', 4096),
    tls: tls as JoinReply['tls'],
    users_json: typeof o['users_json'] === 'string' ? o['users_json'] : null,
    pushed: Array.isArray(o['pushed']) ? (o['pushed'] as JoinReply['pushed']) : [],
  };
}
