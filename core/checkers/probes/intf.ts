// intf checker: the link of a NIC, read from sysfs (no process spawned). `up` when operstate
// is up, or unknown with carrier (loopback, some virtual devices).
import fs from 'node:fs';
import path from 'node:path';
import type { ProbeResult } from './types';

export const SYS_CLASS_NET = '/sys/class/net';
const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

function readTrim(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

export function intfProbe(name: string, sys_dir = SYS_CLASS_NET): Promise<ProbeResult> {
  if (!IFNAME.test(name)) return Promise.resolve({ ok: false, detail: `"${name}" is not an interface name` });
  const dir = path.join(sys_dir, name);
  const oper = readTrim(path.join(dir, 'operstate'));
  if (oper === null) return Promise.resolve({ ok: false, detail: `no interface ${name}` });
  const carrier = readTrim(path.join(dir, 'carrier'));
  const ok = oper === 'up' || (oper === 'unknown' && carrier === '1');
  return Promise.resolve({ ok, detail: `operstate ${oper}, carrier ${carrier ?? '-'}` });
}
