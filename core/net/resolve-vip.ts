// A VIP written without interface or prefix goes on the interface whose own address subnet
// holds it, with that subnet's prefix (SafeKit's `real_interface` without a name).
import { HakitError } from '../errors/catalogue';
import type { CommandRunner } from './command-runner';
import type { VipSpec } from './types';
import { sameSubnet } from './pure/subnet';
import { IP_COMMAND_TIMEOUT_MS } from './vip-manager';

export interface VipWish {
  readonly address: string;
  readonly prefix_len: number | null;
  readonly ifname: string | null;
}

export interface InterfaceAddress {
  readonly ifname: string;
  readonly address: string;
  readonly prefix_len: number;
}

export { sameSubnet };

/** Pure choice: the first interface address (other than the VIP itself) whose subnet holds the VIP. */
export function chooseInterface(wish: VipWish, addrs: readonly InterfaceAddress[]): VipSpec | undefined {
  for (const a of addrs) {
    if (a.address === wish.address) continue;
    if (wish.ifname !== null && a.ifname !== wish.ifname) continue;
    if (!sameSubnet(a.address, wish.address, a.prefix_len)) continue;
    return { address: wish.address, prefix_len: wish.prefix_len ?? a.prefix_len, ifname: a.ifname };
  }
  return undefined;
}

export async function listInterfaceAddresses(cmd: CommandRunner): Promise<InterfaceAddress[]> {
  const r = await cmd.run(['ip', '-j', '-4', 'addr', 'show'], IP_COMMAND_TIMEOUT_MS);
  if (r.code !== 0) throw new HakitError('HAKIT_E_VIP_COMMAND', `ip -j addr show failed: ${r.stderr.trim()}`, 'VIP interface lookup');
  const out: InterfaceAddress[] = [];
  let links: unknown;
  try {
    links = JSON.parse(r.stdout);
  } catch {
    throw new HakitError('HAKIT_E_VIP_COMMAND', 'ip -j addr show printed unreadable JSON', 'VIP interface lookup');
  }
  for (const link of Array.isArray(links) ? (links as Array<{ ifname?: string; addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }> }>) : []) {
    for (const a of link.addr_info ?? []) {
      if (a.family === 'inet' && link.ifname && a.local && typeof a.prefixlen === 'number') out.push({ ifname: link.ifname, address: a.local, prefix_len: a.prefixlen });
    }
  }
  return out;
}

export async function resolveVip(wish: VipWish, cmd: CommandRunner): Promise<VipSpec> {
  if (wish.ifname !== null && wish.prefix_len !== null) return { address: wish.address, prefix_len: wish.prefix_len, ifname: wish.ifname };
  const spec = chooseInterface(wish, await listInterfaceAddresses(cmd));
  if (!spec) {
    throw new HakitError('HAKIT_E_VIP_BAD_ADDRESS', `no interface of this node has an address in the subnet of ${wish.address}; name the interface in userconfig.xml`, `vip ${wish.address}`);
  }
  return spec;
}
