import { ApiKeyHasher, generateApiKey, isApiKeyShaped, parseApiKey } from './api-key-codec';

describe('API key codec', () => {
  it('generates hos_<prefix>_<secret> keys with 256 random bits and distinct prefixes', () => {
    const keys = Array.from({ length: 200 }, generateApiKey);
    for (const k of keys) {
      expect(k.key).toMatch(/^hos_[a-z0-9]{8}_[A-Za-z0-9]{43}$/);
      expect(parseApiKey(k.key)).toEqual(k);
    }
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(200);
  });

  it('parses only the exact format', () => {
    expect(isApiKeyShaped('hos_x')).toBe(true);
    expect(isApiKeyShaped('sk-123')).toBe(false);
    for (const bad of [
      'hos_ABCDEFGH_' + 'a'.repeat(40),
      'hos_abcdefg_' + 'a'.repeat(40),
      'hos_abcdefgh_short',
      'hos_abcdefgh_' + 'a'.repeat(65),
      'hos_abcdefgh-' + 'a'.repeat(40),
    ])
      expect(parseApiKey(bad)).toBeUndefined();
  });

  it('hashes with the pepper and compares in constant time', () => {
    const { key } = generateApiKey();
    const a = new ApiKeyHasher('pepper-one-0123456789012345678901');
    const b = new ApiKeyHasher('pepper-two-0123456789012345678901');
    expect(a.hash(key)).toHaveLength(32);
    expect(a.matches(key, a.hash(key))).toBe(true);
    expect(b.matches(key, a.hash(key))).toBe(false);
    expect(a.matches(`${key}x`, a.hash(key))).toBe(false);
  });
});
