import { randomBytes } from 'node:crypto';
import { DEFAULT_KEY_ID, KeyRing, KeyRingError, OpenFailedError, valueAad } from './key-ring';

const b64 = () => randomBytes(32).toString('base64');

describe('KeyRing (ENCRYPTION_KEY)', () => {
  it('accepts a single base64 32-byte key as key id "default", standard or URL-safe base64', () => {
    const raw = randomBytes(32);
    expect(KeyRing.parse(raw.toString('base64')).activeKeyId).toBe(DEFAULT_KEY_ID);
    expect(KeyRing.parse(raw.toString('base64url')).keyIds).toEqual([DEFAULT_KEY_ID]);
  });

  it('reads a key ring with ids; the first key is active', () => {
    const ring = KeyRing.parse(`k2:${b64()}, k1:${b64()}`);
    expect(ring.activeKeyId).toBe('k2');
    expect(ring.keyIds).toEqual(['k2', 'k1']);
  });

  it.each([
    ['', /empty/],
    ['not base64!!', /not base64/],
    [randomBytes(16).toString('base64'), /32 bytes of base64, got 16 bytes/],
    [`k1:${b64()},${b64()}`, /needs ids/],
    [`k1:${b64()},k1:${b64()}`, /appears twice/],
    [`bad id:${b64()}`, /key id must match/],
  ])('refuses a bad ENCRYPTION_KEY without echoing it (%#)', (spec, message) => {
    let error: unknown;
    try {
      KeyRing.parse(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyRingError);
    expect((error as Error).message).toMatch(message);
    for (const part of spec.split(/[,:]/).filter((p) => p.length >= 8))
      expect((error as Error).message.includes(part)).toBe(false);
  });

  it('refuses the same key twice under two ids', () => {
    const k = b64();
    expect(() => KeyRing.parse(`a:${k},b:${k}`)).toThrow(/same key/);
  });

  it('seals with a fresh 96-bit nonce per value and opens with the same path and version', () => {
    const ring = KeyRing.parse(`k1:${b64()}`);
    const plain = Buffer.from('sk-test-value-123');
    const a = ring.seal(plain, valueAad('ai/platforms/openai', 1));
    const b = ring.seal(plain, valueAad('ai/platforms/openai', 1));
    expect(a.nonce).toHaveLength(12);
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.ciphertext.includes(plain)).toBe(false);
    expect(ring.open(a, valueAad('ai/platforms/openai', 1)).equals(plain)).toBe(true);
  });

  it('refuses a tampered ciphertext, nonce or tag, another path or version, and another key', () => {
    const ring = KeyRing.parse(`k1:${b64()}`);
    const aad = valueAad('channels/slack', 3);
    const sealed = ring.seal(Buffer.from('xoxb-secret-token'), aad);
    const flip = (buf: Buffer, i: number) => {
      const c = Buffer.from(buf);
      c[i] ^= 0x01;
      return c;
    };
    expect(() => ring.open({ ...sealed, ciphertext: flip(sealed.ciphertext, 0) }, aad)).toThrow(OpenFailedError);
    expect(() =>
      ring.open({ ...sealed, ciphertext: flip(sealed.ciphertext, sealed.ciphertext.length - 1) }, aad),
    ).toThrow(OpenFailedError);
    expect(() => ring.open({ ...sealed, nonce: flip(sealed.nonce, 5) }, aad)).toThrow(OpenFailedError);
    expect(() => ring.open(sealed, valueAad('channels/slack2', 3))).toThrow(OpenFailedError);
    expect(() => ring.open(sealed, valueAad('channels/slack', 4))).toThrow(OpenFailedError);
    const other = KeyRing.parse(`k1:${b64()}`);
    expect(() => other.open(sealed, aad)).toThrow(OpenFailedError);
    const unknown = KeyRing.parse(`k9:${b64()}`);
    expect(() => unknown.open(sealed, aad)).toThrow(/key k1 is not in ENCRYPTION_KEY/);
  });

  it('keeps opening values of an older key after a new key becomes active', () => {
    const k1 = b64();
    const old = KeyRing.parse(`k1:${k1}`);
    const aad = valueAad('webhooks/x', 1);
    const sealed = old.seal(Buffer.from('whsec-123456'), aad);
    const rotated = KeyRing.parse(`k2:${b64()},k1:${k1}`);
    expect(rotated.open(sealed, aad).toString()).toBe('whsec-123456');
    expect(rotated.seal(Buffer.from('x'), aad).keyId).toBe('k2');
  });

  it('generates a key-ring spec it can read', () => {
    expect(KeyRing.parse(KeyRing.generateSpec('k7')).activeKeyId).toBe('k7');
  });
});
