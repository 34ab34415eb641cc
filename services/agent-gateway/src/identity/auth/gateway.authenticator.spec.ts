import 'reflect-metadata';
import type { ApiError } from '@hishamos/platform';
import type { IdentitySettings } from '../../config/identity.settings';
import type { ApiKeyRepository, ApiKeySecretRow } from '../api-keys/api-key.repository';
import { ApiKeyHasher, generateApiKey } from '../crypto/api-key-codec';
import type { IdentityKeyring } from '../crypto/identity-keyring';
import type { ExternalUserResolver } from './external-user.resolver';
import { GatewayAuthenticator } from './gateway.authenticator';
import type { CachedUser, IdentityCache } from './identity-cache';

const USER_ID = '7b0f5b7e-1d0b-4a55-9d7e-2f1b3c4d5e6f';

function setup() {
  const hasher = new ApiKeyHasher('pepper-for-tests');
  const hashes = jest.spyOn(hasher, 'matches');
  const key = generateApiKey();
  const rowOf = (over: Partial<ApiKeySecretRow> = {}): ApiKeySecretRow => ({
    id: 'key-1',
    userId: USER_ID,
    prefix: key.prefix,
    keyHash: hasher.hash(key.key),
    scopes: ['*'],
    expiresAt: null,
    revoked: false,
    ...over,
  });
  // What IdentityCache hands out: the same row object until it is reloaded or invalidated.
  const state: { row: ApiKeySecretRow | null } = { row: rowOf() };
  const user: CachedUser = {
    id: USER_ID,
    email: 'ann@example.com',
    name: 'Ann',
    roles: ['member'],
    teamId: null,
    status: 'active',
    defaultAgentAccess: 'all',
    agents: new Map(),
  };
  const cache = {
    key: (prefix: string) => Promise.resolve(prefix === key.prefix ? state.row : null),
    user: () => Promise.resolve(user),
  } as unknown as IdentityCache;
  const auth = new GatewayAuthenticator(
    { logger: { warn: () => undefined } } as never,
    {} as IdentitySettings,
    { apiKeyHasher: hasher } as unknown as IdentityKeyring,
    cache,
    { touch: () => Promise.resolve() } as unknown as ApiKeyRepository,
    {} as ExternalUserResolver,
  );
  const call = (token: string) =>
    auth.authenticate({ headers: { authorization: `Bearer ${token}` }, method: 'POST', url: '/v1/chat/completions' });
  const refusal = (token: string) =>
    call(token).then(
      () => undefined,
      (e: ApiError) => ({ status: e.status, code: e.code }),
    );
  return { key, rowOf, state, hashes, call, refusal };
}

describe('GatewayAuthenticator API keys: the verified-key cache', () => {
  it('hashes a key once per cached row, and answers the same identity after', async () => {
    const t = setup();
    const first = await t.call(t.key.key);
    expect(t.hashes).toHaveBeenCalledTimes(1);
    const again = await t.call(t.key.key);
    await t.call(t.key.key);
    expect(t.hashes).toHaveBeenCalledTimes(1);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ kind: 'user', subject: USER_ID, via: 'api_key', keyId: 'key-1' });
  });

  it('still refuses a wrong key with a cached prefix (and keeps the right one working)', async () => {
    const t = setup();
    await t.call(t.key.key);
    const wrong = `hos_${t.key.prefix}_${'A'.repeat(43)}`;
    expect(await t.refusal(wrong)).toEqual({ status: 401, code: 'invalid_api_key' });
    expect(await t.refusal(`${t.key.key}x`)).toEqual({ status: 401, code: 'invalid_api_key' });
    await expect(t.call(t.key.key)).resolves.toMatchObject({ subject: USER_ID });
  });

  it('honours a revocation as soon as the identity cache has the revoked row', async () => {
    const t = setup();
    await t.call(t.key.key);
    t.state.row = t.rowOf({ revoked: true });
    expect(await t.refusal(t.key.key)).toEqual({ status: 401, code: 'api_key_revoked' });
    t.state.row = null; // deleted
    expect(await t.refusal(t.key.key)).toEqual({ status: 401, code: 'invalid_api_key' });
  });

  it('verifies again when the row is reloaded, and refuses the old key once the hash changed', async () => {
    const t = setup();
    await t.call(t.key.key);
    t.state.row = t.rowOf();
    await t.call(t.key.key);
    expect(t.hashes).toHaveBeenCalledTimes(2);
    t.state.row = t.rowOf({ keyHash: Buffer.alloc(32, 1) });
    expect(await t.refusal(t.key.key)).toEqual({ status: 401, code: 'invalid_api_key' });
  });

  it('still refuses an expired key', async () => {
    const t = setup();
    await t.call(t.key.key);
    (t.state.row as ApiKeySecretRow).expiresAt = Date.now() - 1;
    expect(await t.refusal(t.key.key)).toEqual({ status: 401, code: 'api_key_expired' });
  });
});
