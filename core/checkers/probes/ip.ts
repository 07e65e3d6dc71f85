// ip checker: the address is still configured on this node. Read from /proc (the node's own
// network namespace), no process spawned: IPv4 local addresses from /proc/net/fib_trie
// ("/32 host LOCAL" entries), IPv6 from /proc/net/if_inet6.
import fs from 'node:fs';
import net from 'node:net';
import type { ProbeResult } from './types';

export const FIB_TRIE = '/proc/net/fib_trie';
export const IF_INET6 = '/proc/net/if_inet6';

/** Local IPv4 addresses listed in fib_trie text (pure; exported for tests). */
export function localV4FromFibTrie(text: string): Set<string> {
  const out = new Set<string>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    if (!/\/32 host LOCAL/.test(lines[i] ?? '')) continue;
    const m = /([0-9]{1,3}(?:\.[0-9]{1,3}){3})\s*$/.exec(lines[i - 1] ?? '');
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

function expandV6(addr: string): string {
  const [head = '', tail = ''] = addr.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = addr.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const fill = addr.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join('').toLowerCase();
}

export function ipProbe(addr: string, files = { fib_trie: FIB_TRIE, if_inet6: IF_INET6 }): Promise<ProbeResult> {
  try {
    if (net.isIPv4(addr)) {
      const ok = localV4FromFibTrie(fs.readFileSync(files.fib_trie, 'utf8')).has(addr);
      return Promise.resolve({ ok, detail: ok ? 'configured' : 'not configured' });
    }
    if (net.isIPv6(addr)) {
      const hex = expandV6(addr);
      const ok = fs.readFileSync(files.if_inet6, 'utf8').split('\n').some((l) => l.startsWith(hex));
      return Promise.resolve({ ok, detail: ok ? 'configured' : 'not configured' });
    }
    return Promise.resolve({ ok: false, detail: `"${addr}" is not an IP address` });
  } catch (e) {
    return Promise.resolve({ ok: false, detail: e instanceof Error ? e.message : String(e) });
  }
}
