import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { listen, startGateway, type Gateway } from './identity-harness';

jest.setTimeout(120_000);

function rs256(claims: object, privateKey: KeyObject, kid: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

describe('JWT from an external identity provider: RS256 via JWKS', () => {
  const issuer = 'https://idp.example.test/';
  const audience = 'hishamos';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let jwksHits = 0;
  let jwks: Awaited<ReturnType<typeof listen>>;
  let gw: Gateway;
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: object = {}) => ({
    iss: issuer,
    aud: audience,
    sub: 'idp|alice',
    exp: now() + 300,
    iat: now(),
    email: 'alice@corp.example',
    name: 'Alice',
    ...extra,
  });

  beforeAll(async () => {
    jwks = await listen((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] }),
      );
    });
    gw = await startGateway({
      env: { JWT_JWKS_URL: `${jwks.url}/.well-known/jwks.json`, JWT_ISSUER: issuer, JWT_AUDIENCE: audience },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await jwks.close();
  });

  it('accepts a valid token, provisions the person once as a member, and caches the keys', async () => {
    const token = rs256(claims(), privateKey, 'k1');
    const me = await gw.fetch('/v1/me', { key: token });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({
      identity: { kind: 'user', via: 'jwt', roles: ['member'] },
      user: { email: 'alice@corp.example', name: 'Alice', externalIssuer: issuer },
    });
    const again = await gw.fetch('/v1/me', { key: rs256(claims({ iat: now() + 1 }), privateKey, 'k1') });
    expect((again.json.user as { id: string }).id).toBe((me.json.user as { id: string }).id);
    expect(jwksHits).toBe(1);
    const audit = await gw.fetch('/v1/audit-logs?action=user.provisioned', {
      key: (await import('./identity-harness')).BOOTSTRAP_KEY,
    });
    expect((audit.json.data as unknown[]).length).toBe(1);
  });

  it('links a token to the existing user with the same email', async () => {
    const { BOOTSTRAP_KEY } = await import('./identity-harness');
    const created = await gw.fetch('/v1/users', {
      key: BOOTSTRAP_KEY,
      body: { email: 'bob@corp.example', name: 'Bob', roles: ['operator'] },
    });
    const me = await gw.fetch('/v1/me', {
      key: rs256(claims({ sub: 'idp|bob', email: 'bob@corp.example' }), privateKey, 'k1'),
    });
    expect(me.json).toMatchObject({ identity: { subject: (created.json as { id: string }).id, roles: ['operator'] } });
  });

  it('rejects wrong issuer, audience, signature, expiry, unknown key and algorithm with 401', async () => {
    const cases: [string, string][] = [
      [rs256(claims({ iss: 'https://evil.example/' }), privateKey, 'k1'), 'issuer'],
      [rs256(claims({ aud: 'someone-else' }), privateKey, 'k1'), 'audience'],
      [rs256(claims(), other.privateKey, 'k1'), 'signature'],
      [rs256(claims({ exp: now() - 600 }), privateKey, 'k1'), 'expired'],
      [rs256(claims({ exp: undefined }), privateKey, 'k1'), 'expiry'],
      [rs256(claims(), privateKey, 'k2'), 'unknown signing key'],
    ];
    for (const [token, reason] of cases) {
      const res = await gw.fetch('/v1/me', { key: token });
      expect(res.status).toBe(401);
      expect((res.json.error as { message: string }).message).toContain(reason);
    }
    // an HS256 token "signed" with the public key (algorithm confusion) is refused
    const [, payload] = rs256(claims(), privateKey, 'k1').split('.');
    const { createHmac } = await import('node:crypto');
    const header = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const confused = `${header}.${payload}.${createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url')}`;
    expect((await gw.fetch('/v1/me', { key: confused })).status).toBe(401);
  });
});
