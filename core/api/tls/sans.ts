// The subjectAltName list of a node certificate (openssl's config syntax).
import net from 'node:net';
import { HakitError } from '../../errors/catalogue';

const DNS_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export function sanList(node: string, addresses: readonly string[]): string {
  if (!DNS_NAME.test(node)) throw new HakitError('HAKIT_E_API_TLS', `"${node}" cannot be a certificate name`, 'node certificate');
  const names = new Set<string>([`DNS:${node}`, 'DNS:localhost', 'IP:127.0.0.1']);
  for (const a of addresses) {
    if (net.isIP(a) === 0) throw new HakitError('HAKIT_E_API_TLS', `"${a}" is not an IP address`, 'node certificate');
    names.add(`IP:${a}`);
  }
  return [...names].join(',');
}
