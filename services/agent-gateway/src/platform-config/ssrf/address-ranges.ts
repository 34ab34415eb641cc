import { BlockList, isIP } from 'node:net';

interface Range {
  name: string;
  list: BlockList;
}

function range(name: string, subnets: [string, number, 'ipv4' | 'ipv6'][]): Range {
  const list = new BlockList();
  for (const [net, prefix, family] of subnets) list.addSubnet(net, prefix, family);
  return { name, list };
}

/**
 * Addresses a provider base URL may not point at (unless an admin allowed the host): where an SSRF
 * would reach the cluster, the node, or a cloud's metadata service.
 */
const RANGES: Range[] = [
  range('cloud metadata (169.254.169.254)', [
    ['169.254.169.254', 32, 'ipv4'],
    ['fd00:ec2::254', 128, 'ipv6'],
  ]),
  range('loopback', [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ]),
  range('unspecified', [
    ['0.0.0.0', 8, 'ipv4'],
    ['::', 128, 'ipv6'],
  ]),
  range('link-local', [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ]),
  range('private (RFC 1918)', [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
  ]),
  range('carrier-grade NAT (100.64.0.0/10)', [['100.64.0.0', 10, 'ipv4']]),
  range('unique local (fc00::/7)', [['fc00::', 7, 'ipv6']]),
  range('site-local (fec0::/10)', [['fec0::', 10, 'ipv6']]),
  range('reserved or special-purpose', [
    ['192.0.0.0', 24, 'ipv4'],
    ['192.0.2.0', 24, 'ipv4'],
    ['198.18.0.0', 15, 'ipv4'],
    ['198.51.100.0', 24, 'ipv4'],
    ['203.0.113.0', 24, 'ipv4'],
    ['240.0.0.0', 4, 'ipv4'],
    ['2001:db8::', 32, 'ipv6'],
    ['100::', 64, 'ipv6'],
  ]),
  range('multicast or broadcast', [
    ['224.0.0.0', 4, 'ipv4'],
    ['255.255.255.255', 32, 'ipv4'],
    ['ff00::', 8, 'ipv6'],
  ]),
];

/** The IPv4 address an IPv6 address embeds (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96), if any. */
function embeddedIpv4(ip: string): string | undefined {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** The name of the blocked range an IP address is in, or undefined for a public address. */
export function blockedRange(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    if (v4) return blockedRange(v4);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return RANGES.find((r) => r.list.check(ip, type))?.name;
}
