// Virtual IPs with iproute2 and iputils arping, in the namespace the daemon runs in.
import { HakitError } from '../errors/catalogue';
import type { CommandRunner } from './command-runner';
import type { VipChange, VipManager, VipSpec } from './types';

/** Timeout of one `ip` command. */
export const IP_COMMAND_TIMEOUT_MS = 5000;
/** Seconds between gratuitous ARP packets are arping's (1 s); the burst gets this slack. */
export const ARP_BURST_SLACK_MS = 3000;
/** Largest gratuitous ARP burst we send. */
export const MAX_ARP_COUNT = 10;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IFNAME = /^[A-Za-z0-9._@-]{1,15}$/;

export function validateVip(vip: VipSpec): void {
  const where = `vip ${vip.address}/${vip.prefix_len} dev ${vip.ifname}`;
  if (!IPV4.test(vip.address)) throw new HakitError('HAKIT_E_VIP_BAD_ADDRESS', `"${vip.address}" is not a dotted IPv4 address`, where);
  if (!Number.isInteger(vip.prefix_len) || vip.prefix_len < 1 || vip.prefix_len > 32) {
    throw new HakitError('HAKIT_E_VIP_BAD_ADDRESS', `prefix length ${vip.prefix_len} is not in 1..32`, where);
  }
  if (!IFNAME.test(vip.ifname)) throw new HakitError('HAKIT_E_VIP_BAD_ADDRESS', `"${vip.ifname}" is not an interface name`, where);
}

interface AddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
}

export interface IpVipOptions {
  /**
   * valid_lft and preferred_lft (s) of every VIP added: the kernel removes the address itself
   * unless renew() extends it (docs/adr/0005-fencing-by-expiry.md). Absent: forever.
   */
  readonly lifetime_s?: number;
}

export class IpVipManager implements VipManager {
  constructor(
    private readonly cmd: CommandRunner,
    private readonly options: IpVipOptions = {},
  ) {}

  private lifetimeArgs(): string[] {
    const s = this.options.lifetime_s;
    return s === undefined ? [] : ['valid_lft', String(s), 'preferred_lft', String(s)];
  }

  /**
   * Gives a present VIP a full lifetime again (`ip addr change`, which resets the kernel's
   * timestamp of the address). Returns false, changing nothing, when the VIP is absent:
   * `ip addr change` would add it, and a renewal must never bring back an expired VIP.
   */
  async renew(vip: VipSpec): Promise<boolean> {
    validateVip(vip);
    const prefix = await this.currentPrefix(vip);
    if (prefix === undefined) return false;
    const r = await this.cmd.run(['ip', 'addr', 'change', `${vip.address}/${prefix}`, 'dev', vip.ifname, ...this.lifetimeArgs()], IP_COMMAND_TIMEOUT_MS);
    if (r.code !== 0) throw this.failed(vip, 'ip addr change', r.stderr);
    return true;
  }

  /** The prefix length the VIP currently has on its interface, or undefined when absent. */
  private async currentPrefix(vip: VipSpec): Promise<number | undefined> {
    const r = await this.cmd.run(['ip', '-j', '-4', 'addr', 'show', 'dev', vip.ifname], IP_COMMAND_TIMEOUT_MS);
    if (r.code !== 0) throw this.failed(vip, 'ip -j addr show', r.stderr);
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.stdout);
    } catch {
      throw this.failed(vip, 'ip -j addr show', `unreadable JSON: ${r.stdout.slice(0, 200)}`);
    }
    const links = Array.isArray(parsed) ? (parsed as Array<{ addr_info?: AddrInfo[] }>) : [];
    for (const link of links) {
      for (const a of link.addr_info ?? []) if (a.family === 'inet' && a.local === vip.address) return a.prefixlen ?? vip.prefix_len;
    }
    return undefined;
  }

  async isPresent(vip: VipSpec): Promise<boolean> {
    validateVip(vip);
    return (await this.currentPrefix(vip)) !== undefined;
  }

  async ensurePresent(vip: VipSpec): Promise<VipChange> {
    validateVip(vip);
    if ((await this.currentPrefix(vip)) !== undefined) return 'unchanged';
    const r = await this.cmd.run(['ip', 'addr', 'add', `${vip.address}/${vip.prefix_len}`, 'dev', vip.ifname, ...this.lifetimeArgs()], IP_COMMAND_TIMEOUT_MS);
    if ((await this.currentPrefix(vip)) === undefined) throw this.failed(vip, 'ip addr add', r.stderr);
    return 'added';
  }

  async ensureAbsent(vip: VipSpec): Promise<VipChange> {
    validateVip(vip);
    const prefix = await this.currentPrefix(vip);
    if (prefix === undefined) return 'unchanged';
    const r = await this.cmd.run(['ip', 'addr', 'del', `${vip.address}/${prefix}`, 'dev', vip.ifname], IP_COMMAND_TIMEOUT_MS);
    if ((await this.currentPrefix(vip)) !== undefined) throw this.failed(vip, 'ip addr del', r.stderr);
    return 'removed';
  }

  async announce(vip: VipSpec, count: number): Promise<void> {
    validateVip(vip);
    const n = Math.max(1, Math.min(MAX_ARP_COUNT, Math.floor(count)));
    // -U: unsolicited ARP (gratuitous request), which updates neighbours' caches.
    const r = await this.cmd.run(['arping', '-q', '-U', '-c', String(n), '-I', vip.ifname, vip.address], n * 1000 + ARP_BURST_SLACK_MS);
    // iputils arping exits 1 when no reply came; for an unsolicited burst that is normal.
    if (r.code !== 0 && r.code !== 1) throw this.failed(vip, 'arping -U', r.stderr);
  }

  private failed(vip: VipSpec, what: string, detail: string): HakitError {
    return new HakitError('HAKIT_E_VIP_COMMAND', `${what} failed: ${detail.trim() || 'no error text'}`, `vip ${vip.address}/${vip.prefix_len} dev ${vip.ifname}`);
  }
}
