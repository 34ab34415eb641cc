import { generateKeyPairSync, createSign } from 'node:crypto';
import { checkClaims, decodeJwt, JwtError, signHs256, verifyHs256, verifyRs256 } from './jwt';

const now = Math.floor(Date.now() / 1000);

describe('JWT', () => {
  it('signs and verifies HS256', () => {
    const token = signHs256({ sub: 'u1', exp: now + 60 }, 's'.repeat(32));
    const jwt = decodeJwt(token);
    expect(jwt.header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(verifyHs256(jwt, 's'.repeat(32))).toBe(true);
    expect(verifyHs256(jwt, 't'.repeat(32))).toBe(false);
  });

  it('verifies RS256 with the public key only', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}`;
    const token = `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
    expect(verifyRs256(decodeJwt(token), publicKey)).toBe(true);
    expect(verifyRs256(decodeJwt(token), ec.publicKey)).toBe(false);
  });

  it('refuses malformed tokens', () => {
    for (const t of ['a.b', 'a.b.c.d', '!!.b.c', `${Buffer.from('x').toString('base64url')}.e30.x`])
      expect(() => decodeJwt(t)).toThrow(JwtError);
  });

  it('checks expiry, not-before, issuer, audience and subject', () => {
    const ok = { sub: 'u', exp: now + 60, iss: 'i', aud: ['a', 'b'] };
    expect(() => checkClaims(ok, { issuer: 'i', audience: 'b' })).not.toThrow();
    expect(() => checkClaims({ ...ok, exp: now - 60 }, {})).toThrow('token expired');
    expect(() => checkClaims({ ...ok, exp: undefined }, {})).toThrow('no expiry');
    expect(() => checkClaims({ ...ok, nbf: now + 600 }, {})).toThrow('not valid yet');
    expect(() => checkClaims(ok, { issuer: 'j' })).toThrow('issuer');
    expect(() => checkClaims(ok, { audience: 'c' })).toThrow('audience');
    expect(() => checkClaims({ ...ok, sub: '' }, {})).toThrow('subject');
  });
});
