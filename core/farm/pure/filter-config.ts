// Maps a farm module's typed userconfig onto the farm filter's input (pure): rules grouped by
// the VIPs they apply to, the virtual MAC of <virtual_interface>, the interface every VIP was
// resolved to on this node, and the `power` of each farm node.
import type { DeepReadonlyUserConfig } from '../../config/pure/types-frozen';
import type { FarmFilterConfig, FarmGroup, FarmRule } from '../../../filters/pure/types';

export interface ResolvedVip {
  readonly address: string;
  readonly ifname: string;
}

export type FarmConfigResult =
  | { readonly ok: true; readonly config: FarmFilterConfig; readonly powers: Readonly<Record<string, number>> }
  | { readonly ok: false; readonly reason: string };

function groupsOf(config: DeepReadonlyUserConfig, where: string): FarmGroup[] {
  const byVips = new Map<string, { vips: string[]; rules: FarmRule[] }>();
  for (const r of config.vip?.rules ?? []) {
    const key = [...r.vips].join(',');
    let g = byVips.get(key);
    if (!g) {
      g = { vips: [...r.vips], rules: [] };
      byVips.set(key, g);
    }
    const ports = r.port.first === r.port.last ? [r.port.first] : [{ from: r.port.first, to: r.port.last }];
    g.rules.push({ proto: r.proto, ports, balance: r.filter, where });
  }
  return [...byVips.values()].map((g) => ({ ...g, where }));
}

/** Farm nodes and their power; every node of the module at power 1 when <farm> names none. */
export function farmPowers(config: DeepReadonlyUserConfig, nodes: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const listed = config.farm?.nodes ?? [];
  if (listed.length === 0) for (const n of nodes) out[n] = 1;
  for (const n of listed) out[n.name] = n.power;
  return out;
}

export function farmFilterConfig(module: string, config: DeepReadonlyUserConfig, vips: readonly ResolvedVip[], nodes: readonly string[]): FarmConfigResult {
  const where = `${module}/conf/userconfig.xml:${config.lines[`vip/${vips[0]?.address ?? ''}`] ?? '?'}`;
  if (vips.length === 0) return { ok: false, reason: `${where}: a farm module needs a <vip> with at least one IPv4 virtual_addr` };
  const ifnames = [...new Set(vips.map((v) => v.ifname))];
  if (ifnames.length > 1) return { ok: false, reason: `${where}: the farm VIPs resolve to several interfaces (${ifnames.join(', ')}); one farm module filters one interface` };
  const vmacs = (config.vip?.interfaces ?? []).map((i) => i.vmac?.mac).filter((m): m is string => typeof m === 'string' && m.length > 0);
  const groups = groupsOf(config, where);
  const out: FarmFilterConfig = {
    module,
    interface: ifnames[0] ?? '',
    groups,
    where,
    ...(vmacs[0] !== undefined ? { virtual_mac: vmacs[0] } : {}),
  };
  return { ok: true, config: out, powers: farmPowers(config, nodes) };
}
