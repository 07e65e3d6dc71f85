// IPv4 subnet arithmetic (pure): shared by VIP placement and cluster joins.
function toInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Both IPv4 addresses are in one subnet of this prefix length. */
export function sameSubnet(a: string, b: string, prefix_len: number): boolean {
  const size = 2 ** (32 - prefix_len);
  return Math.floor(toInt(a) / size) === Math.floor(toInt(b) / size);
}
