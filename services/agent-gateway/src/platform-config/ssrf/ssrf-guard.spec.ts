import { blockedRange } from './address-ranges';
import { checkBaseUrl, guardedLookup } from './ssrf-guard';

describe('SSRF guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'cloud metadata (169.254.169.254)'],
    ['fd00:ec2::254', 'cloud metadata (169.254.169.254)'],
    ['169.254.1.1', 'link-local'],
    ['fe80::abcd', 'link-local'],
    ['10.255.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.0.1', 'private (RFC 1918)'],
    ['100.127.255.254', 'carrier-grade NAT (100.64.0.0/10)'],
    ['fc00::1', 'unique local (fc00::/7)'],
    ['::ffff:192.168.1.1', 'private (RFC 1918)'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'cloud metadata (169.254.169.254)'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast or broadcast'],
  ])('%s is %s', (ip, range) => {
    expect(blockedRange(ip)).toBe(range);
  });

  it.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '93.184.216.34'])('%s is public', (ip) => {
    expect(blockedRange(ip)).toBeUndefined();
  });

  it('accepts public https URLs and allowed hosts, and checks resolved names', async () => {
    const none = () => false;
    const resolver = async (host: string) =>
      host === 'evil.example' ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '1.1.1.1', family: 4 }];
    await expect(checkBaseUrl('https://api.openai.com/v1', none, resolver)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl('https://evil.example/v1', none, resolver)).rejects.toThrow(/resolves to 127\.0\.0\.1/);
    await expect(checkBaseUrl('http://10.0.0.5:8000/v1', (h) => h === '10.0.0.5', resolver)).resolves.toBeInstanceOf(
      URL,
    );
    await expect(
      checkBaseUrl('https://unresolvable.invalid/v1', none, async () => Promise.reject(new Error('ENOTFOUND'))),
    ).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl('https://x.example/v1?key=1', none, resolver)).rejects.toThrow(/query/);
  });

  it('refuses blocked addresses at connect time unless the host is allowed', async () => {
    const lookup = (allowed: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
        guardedLookup(() => allowed)('localhost', {}, (err, address) => resolve({ err, address })),
      );
    const blocked = await lookup(false);
    expect(blocked.err?.code).toBe('EBLOCKEDADDRESS');
    const ok = await lookup(true);
    expect(ok.err).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(ok.address);
  });
});
