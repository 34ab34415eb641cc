import { InternalAuthenticator } from './auth.guard';
import { serviceCredential, signIdentity } from './identity';

const TOKEN = 'service-token-1';
const req = (credential: string, extra: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${credential}`, ...extra },
});

describe('InternalAuthenticator', () => {
  it('accepts a valid service credential, again from its cache', async () => {
    const auth = new InternalAuthenticator(TOKEN);
    const cred = serviceCredential(TOKEN, 'agent-gateway');
    for (let i = 0; i < 3; i++)
      expect(await auth.authenticate(req(cred))).toEqual({
        kind: 'service',
        subject: 'agent-gateway',
        roles: [],
        via: 'service',
      });
  });

  it('refuses a credential made with a wrong token, even once the right one is cached', async () => {
    const auth = new InternalAuthenticator(TOKEN);
    expect(auth.verifyCaller(serviceCredential(TOKEN, 'agent-gateway'))).toBe('agent-gateway');
    const wrong = serviceCredential('another-token', 'agent-gateway');
    expect(auth.verifyCaller(wrong)).toBeUndefined();
    expect(await auth.authenticate(req(wrong))).toBeUndefined();
    // Tampered: same caller, one character of the MAC changed; another caller's name on our MAC.
    const good = serviceCredential(TOKEN, 'agent-gateway');
    const last = good.at(-1) === 'A' ? 'B' : 'A';
    expect(auth.verifyCaller(good.slice(0, -1) + last)).toBeUndefined();
    expect(auth.verifyCaller(`alerting.${good.split('.')[1]}`)).toBeUndefined();
    expect(auth.verifyCaller(good)).toBe('agent-gateway');
  });

  it('refuses a credential cached by an authenticator of the old token once the token changed', async () => {
    const old = new InternalAuthenticator(TOKEN);
    const cred = serviceCredential(TOKEN, 'agent-gateway');
    expect(old.verifyCaller(cred)).toBe('agent-gateway');
    const rotated = new InternalAuthenticator('service-token-2');
    expect(rotated.verifyCaller(cred)).toBeUndefined();
    expect(await rotated.authenticate(req(cred))).toBeUndefined();
  });

  it('still verifies a forwarded identity on every request with a cached credential', async () => {
    const auth = new InternalAuthenticator(TOKEN);
    const cred = serviceCredential(TOKEN, 'agent-gateway');
    await auth.authenticate(req(cred));
    const headers = signIdentity(TOKEN, { kind: 'user', subject: 'u-1', roles: ['member'], via: 'api_key' });
    expect(await auth.authenticate(req(cred, headers))).toMatchObject({
      kind: 'user',
      subject: 'u-1',
      via: 'forwarded',
    });
    const forged = {
      ...headers,
      'x-hishamos-identity-sig': signIdentity('x', { kind: 'user', subject: 'u-1', roles: [], via: 'api_key' })[
        'x-hishamos-identity-sig'
      ],
    };
    expect(await auth.authenticate(req(cred, forged))).toMatchObject({ kind: 'service', subject: 'agent-gateway' });
  });

  it('keeps working past the cache bound', () => {
    const auth = new InternalAuthenticator(TOKEN);
    for (let i = 0; i < 600; i++) expect(auth.verifyCaller(serviceCredential(TOKEN, `svc-${i}`))).toBe(`svc-${i}`);
    expect(auth.verifyCaller(serviceCredential(TOKEN, 'svc-0'))).toBe('svc-0');
    expect(auth.verifyCaller(serviceCredential('nope', 'svc-599'))).toBeUndefined();
  });
});
