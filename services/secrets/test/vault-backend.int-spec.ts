import { randomBytes } from 'node:crypto';
import nodeVault from 'node-vault';
import type { SqlExecutor } from '@hishamos/persistence';
import { createLogger } from '@hishamos/platform';
import { waitFor } from '@hishamos/testing';
import { VaultSecretBackend } from '../src/backends/vault/vault-secret.backend';
import { VaultSession, type VaultAuth } from '../src/backends/vault/vault-session';
import { CasMismatchError, SecretNotFoundError } from '../src/domain/secret-errors';
import { FakeVault } from './fixtures/fake-vault.server';

jest.setTimeout(60000);

/** The Vault backend never touches the service's database. */
const noTx: SqlExecutor = {
  query: () => Promise.reject(new Error('the Vault backend must not use the database')),
  run: () => Promise.reject(new Error('the Vault backend must not use the database')),
};

const logger = createLogger('secrets-test', 'error');

/** Where a suite runs: the fake on loopback, or a real Vault (VAULT_ADDR). */
interface VaultTarget {
  url: string;
  /** A token allowed to use the KV mount (renewable, short TTL where possible). */
  token: string;
  approle: { roleId: string; secretId: string; mount: string };
  mount: string;
  /** Folder inside the mount, unique to this run. */
  prefix: string;
  /** The fake, when the target is the fake (request shapes are checked there). */
  fake?: FakeVault;
  cleanup(): Promise<void>;
}

const val = () => `sv-${randomBytes(12).toString('hex')}`;

function backendFor(target: VaultTarget, auth: VaultAuth): { backend: VaultSecretBackend; session: VaultSession } {
  const session = new VaultSession({ url: target.url, auth, timeoutMs: 5000, logger });
  const backend = new VaultSecretBackend(session, { mount: target.mount, pathPrefix: target.prefix, maxVersions: 10 });
  return { backend, session };
}

/** The same behaviour checks against the fake (always) and a real Vault (when VAULT_ADDR is set). */
function vaultBackendSuite(name: string, makeTarget: () => Promise<VaultTarget>): void {
  describe(name, () => {
    let target: VaultTarget;
    let backend: VaultSecretBackend;
    let session: VaultSession;

    beforeAll(async () => {
      target = await makeTarget();
      ({ backend, session } = backendFor(target, { method: 'token', token: target.token }));
      await session.authenticate();
    });
    afterAll(async () => {
      await backend?.close();
      await target?.cleanup();
    });

    it('writes versions and reads the latest or a given one', async () => {
      const [a, b] = [val(), val()];
      const w1 = await backend.write(noTx, 'ai/platforms/openai', a, { initialMetadata: { owner: 'agent-gateway' } });
      const w2 = await backend.write(noTx, 'ai/platforms/openai', b, { metadata: { platform: 'openai' } });
      expect([w1.version, w2.version]).toEqual([1, 2]);
      const latest = await backend.read(noTx, 'ai/platforms/openai');
      expect(latest.version).toBe(2);
      expect(latest.value === b).toBe(true);
      expect(latest.metadata).toEqual({ owner: 'agent-gateway', platform: 'openai' });
      const first = await backend.read(noTx, 'ai/platforms/openai', 1);
      expect(first.value === a).toBe(true);
      await expect(backend.read(noTx, 'ai/platforms/none')).rejects.toBeInstanceOf(SecretNotFoundError);
      await expect(backend.read(noTx, 'ai/platforms/openai', 9)).rejects.toBeInstanceOf(SecretNotFoundError);
      if (target.fake) {
        const writes = target.fake.requestsTo('data').filter((r) => r.method === 'POST');
        expect(writes[0].path).toBe(`/v1/${target.mount}/data/${target.prefix}/ai/platforms/openai`);
        expect(Object.keys(writes[0].body as object)).toEqual(['data']);
        expect((writes[0].body as { data: { value: string } }).data.value === a).toBe(true);
        const reads = target.fake.requestsTo('data').filter((r) => r.method === 'GET');
        expect(reads.map((r) => r.query.version ?? null)).toEqual([null, '1', null, '9']);
        expect(target.fake.requests.every((r) => r.path === '/v1/sys/health' || r.hadToken)).toBe(true);
        // first write of a secret sets its owner and max_versions in one metadata write
        const meta = target.fake.requestsTo('metadata').filter((r) => r.method === 'POST');
        expect(meta[0].body).toEqual({ custom_metadata: { owner: 'agent-gateway' }, max_versions: 10 });
        expect(meta[1].body).toEqual({ custom_metadata: { owner: 'agent-gateway', platform: 'openai' } });
      }
    });

    it('check-and-set: 0 creates only, N must be the current version, a mismatch is a conflict', async () => {
      const path = 'channels/slack/token';
      await expect(backend.write(noTx, path, val(), { cas: 0 })).resolves.toMatchObject({ version: 1 });
      const conflict = await backend.write(noTx, path, val(), { cas: 0 }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(CasMismatchError);
      expect((conflict as CasMismatchError).status).toBe(409);
      await expect(backend.write(noTx, path, val(), { cas: 1 })).resolves.toMatchObject({ version: 2 });
      await expect(backend.write(noTx, path, val(), { cas: 1 })).rejects.toBeInstanceOf(CasMismatchError);
      if (target.fake) {
        const casWrites = target.fake
          .requestsTo('data')
          .filter((r) => r.method === 'POST' && r.path.endsWith(path))
          .map((r) => (r.body as { options?: unknown }).options);
        expect(casWrites).toEqual([{ cas: 0 }, { cas: 0 }, { cas: 1 }, { cas: 1 }]);
      }
    });

    it('keeps versions and custom metadata, lists folders', async () => {
      await backend.write(noTx, 'webhooks/github', val(), { initialMetadata: { owner: 'alerting' } });
      await backend.write(noTx, 'webhooks/stripe/signing', val());
      await backend.updateMetadata(noTx, 'webhooks/github', { rotated_at: '2025-01-01T00:00:00.000Z' });
      const v = await backend.versions(noTx, 'webhooks/github');
      expect(v).toMatchObject({
        currentVersion: 1,
        metadata: { owner: 'alerting', rotated_at: '2025-01-01T00:00:00.000Z' },
        versions: [{ version: 1, destroyed: false }],
      });
      expect(await backend.list(noTx, 'webhooks/')).toEqual(['github', 'stripe/']);
      expect(await backend.list(noTx, 'nothing/here/')).toEqual([]);
      await expect(backend.versions(noTx, 'webhooks/none')).rejects.toBeInstanceOf(SecretNotFoundError);
      if (target.fake) {
        const lists = target.fake.requestsTo('metadata').filter((r) => r.query.list);
        expect(lists[0]).toMatchObject({
          method: 'GET',
          path: `/v1/${target.mount}/metadata/${target.prefix}/webhooks/`,
        });
      }
    });

    it('soft-deletes, undeletes and destroys versions', async () => {
      const path = 'providers/anthropic';
      const [a, b] = [val(), val()];
      await backend.write(noTx, path, a);
      await backend.write(noTx, path, b);
      expect(await backend.softDelete(noTx, path)).toEqual([2]);
      await expect(backend.read(noTx, path)).rejects.toMatchObject({ code: 'not_found', extra: { reason: 'deleted' } });
      expect((await backend.read(noTx, path, 1)).value === a).toBe(true);
      await backend.undelete(noTx, path, [2]);
      expect((await backend.read(noTx, path)).value === b).toBe(true);
      expect(await backend.softDelete(noTx, path, [1])).toEqual([1]);
      await backend.destroy(noTx, path, [1]);
      await expect(backend.read(noTx, path, 1)).rejects.toMatchObject({ extra: { reason: 'destroyed' } });
      const v = await backend.versions(noTx, path);
      expect(v.versions.map((x) => [x.version, x.destroyed])).toEqual([
        [1, true],
        [2, false],
      ]);
      await expect(backend.softDelete(noTx, 'providers/none')).rejects.toBeInstanceOf(SecretNotFoundError);
      if (target.fake) {
        const f = target.fake;
        const base = `${target.mount}`;
        expect(
          f.requests.some((r) => r.method === 'DELETE' && r.path === `/v1/${base}/data/${target.prefix}/${path}`),
        ).toBe(true);
        expect(f.requestsTo('undelete')[0]).toMatchObject({ method: 'POST', body: { versions: [2] } });
        expect(f.requestsTo('delete')[0]).toMatchObject({ method: 'POST', body: { versions: [1] } });
        expect(f.requestsTo('destroy')[0]).toMatchObject({ method: 'POST', body: { versions: [1] } });
      }
    });

    it('logs in with AppRole and renews its token before it expires', async () => {
      const { backend: b2, session: s2 } = backendFor(target, { method: 'approle', ...target.approle });
      try {
        await s2.authenticate();
        expect(s2.state).toMatchObject({ authenticated: true, renewable: true });
        const value = val();
        await b2.write(noTx, 'ai/platforms/gemini', value);
        expect((await b2.read(noTx, 'ai/platforms/gemini')).value === value).toBe(true);
        await waitFor(() => s2.state.lastRenewedAt, { what: 'token renewal', timeoutMs: 15000 });
        expect(await b2.health()).toMatchObject({ ok: true, backend: 'vault', auth: 'approle', authenticated: true });
        if (target.fake) {
          const login = target.fake.requestsTo(`/v1/auth/${target.approle.mount}/login`)[0];
          expect(login).toMatchObject({ method: 'POST', hadToken: false });
          expect(Object.keys(login.body as object).sort()).toEqual(['role_id', 'secret_id']);
          expect(target.fake.requestsTo('/v1/auth/token/renew-self')[0]).toMatchObject({
            method: 'POST',
            tokenValid: true,
          });
        }
      } finally {
        await b2.close();
      }
    });

    it('refuses bad credentials', async () => {
      const { session: bad } = backendFor(target, { method: 'token', token: `hvs.${randomBytes(10).toString('hex')}` });
      await expect(bad.authenticate()).rejects.toBeDefined();
      bad.close();
      const { session: badRole } = backendFor(target, {
        method: 'approle',
        roleId: target.approle.roleId,
        secretId: 'wrong-secret-id',
        mount: target.approle.mount,
      });
      await expect(badRole.authenticate()).rejects.toBeDefined();
      badRole.close();
    });
  });
}

vaultBackendSuite('Vault backend against the local KV v2 server (request shapes)', async () => {
  const fake = new FakeVault({ approle: { roleId: 'role-hishamos', secretId: `sid-${val()}`, tokenTtl: 2 } });
  const url = await fake.start();
  return {
    url,
    token: fake.rootToken,
    approle: { roleId: fake.approle!.roleId, secretId: fake.approle!.secretId, mount: 'approle' },
    mount: 'secret',
    prefix: 'hishamos',
    fake,
    cleanup: () => fake.stop(),
  };
});

describe('Vault backend token lifecycle (local KV v2 server)', () => {
  it('a token-auth session checks its token with lookup-self and renews it with renew-self', async () => {
    const fake = new FakeVault();
    await fake.start();
    const token = fake.createToken(2);
    const session = new VaultSession({ url: fake.url, auth: { method: 'token', token }, timeoutMs: 5000, logger });
    try {
      await session.authenticate();
      expect(fake.requestsTo('/v1/auth/token/lookup-self')).toHaveLength(1);
      await waitFor(() => session.state.lastRenewedAt, { what: 'renew-self', timeoutMs: 15000 });
      expect(session.state.authenticated).toBe(true);
    } finally {
      session.close();
      await fake.stop();
    }
  });

  it('an AppRole session logs in again when renewal is refused', async () => {
    const fake = new FakeVault({ approle: { roleId: 'r', secretId: 's-123456789', tokenTtl: 2 } });
    await fake.start();
    fake.failRenewals = true;
    const session = new VaultSession({
      url: fake.url,
      auth: { method: 'approle', roleId: 'r', secretId: 's-123456789', mount: 'approle' },
      timeoutMs: 5000,
      logger,
    });
    const backend = new VaultSecretBackend(session, { mount: 'secret', pathPrefix: '', maxVersions: 10 });
    try {
      await session.authenticate();
      const first = session.client.token;
      await waitFor(() => fake.requestsTo('/v1/auth/approle/login').length >= 2, {
        what: 're-login',
        timeoutMs: 15000,
      });
      await waitFor(() => session.client.token !== first && session.state.authenticated, { what: 'new token' });
      await backend.write(noTx, 'a/b', val());
      expect((await backend.versions(noTx, 'a/b')).currentVersion).toBe(1);
    } finally {
      await backend.close();
      await fake.stop();
    }
  });

  it('an AppRole session logs in again after a 403 and retries the call once', async () => {
    const fake = new FakeVault({ approle: { roleId: 'r', secretId: 's-123456789', tokenTtl: 600 } });
    await fake.start();
    const session = new VaultSession({
      url: fake.url,
      auth: { method: 'approle', roleId: 'r', secretId: 's-123456789', mount: 'approle' },
      timeoutMs: 5000,
      logger,
    });
    const backend = new VaultSecretBackend(session, { mount: 'secret', pathPrefix: 'p', maxVersions: 10 });
    try {
      await session.authenticate();
      fake.revoke(session.client.token);
      await expect(backend.write(noTx, 'x/y', val())).resolves.toMatchObject({ version: 1 });
      expect(fake.requestsTo('/v1/auth/approle/login')).toHaveLength(2);
    } finally {
      await backend.close();
      await fake.stop();
    }
  });
});

/*
 * Against a real Vault: registered only when VAULT_ADDR is set (with VAULT_TOKEN, a token allowed to
 * enable an auth method, write a policy and use the KV v2 mount VAULT_MOUNT, default `secret`),
 * e.g. `vault server -dev -dev-root-token-id=root` then VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root.
 * Without VAULT_ADDR this suite does not exist (it is not skipped): CI runs the suite above only.
 */
const realVaultAddr = process.env.VAULT_ADDR;
if (realVaultAddr) {
  vaultBackendSuite(`Vault backend against the real Vault at ${realVaultAddr}`, async () => {
    const rootToken = process.env.VAULT_TOKEN;
    if (!rootToken)
      throw new Error('VAULT_ADDR is set: VAULT_TOKEN must be set too (a token that can configure Vault)');
    const mount = process.env.VAULT_MOUNT ?? 'secret';
    const run = randomBytes(4).toString('hex');
    const prefix = `hishamos-test-${run}`;
    const approleMount = `approle-hishamos-${run}`;
    const policy = `hishamos-test-${run}`;
    const admin = nodeVault({ endpoint: realVaultAddr, token: rootToken, noCustomHTTPVerbs: true });
    await admin.write(`sys/auth/${approleMount}`, { type: 'approle' });
    await admin.write(`sys/policies/acl/${policy}`, {
      policy: [
        `path "${mount}/data/${prefix}/*" { capabilities = ["create", "read", "update", "delete", "list"] }`,
        `path "${mount}/metadata/${prefix}/*" { capabilities = ["create", "read", "update", "delete", "list"] }`,
        `path "${mount}/delete/${prefix}/*" { capabilities = ["update"] }`,
        `path "${mount}/undelete/${prefix}/*" { capabilities = ["update"] }`,
        `path "${mount}/destroy/${prefix}/*" { capabilities = ["update"] }`,
      ].join('\n'),
    });
    await admin.write(`auth/${approleMount}/role/hishamos`, {
      token_policies: [policy],
      token_ttl: '4s',
      token_max_ttl: '10m',
    });
    const roleId = ((await admin.read(`auth/${approleMount}/role/hishamos/role-id`)) as { data: { role_id: string } })
      .data.role_id;
    const secretId = (
      (await admin.write(`auth/${approleMount}/role/hishamos/secret-id`, {})) as { data: { secret_id: string } }
    ).data.secret_id;
    return {
      url: realVaultAddr,
      token: rootToken,
      approle: { roleId, secretId, mount: approleMount },
      mount,
      prefix,
      cleanup: async () => {
        const keys = async (folder: string): Promise<string[]> => {
          const res = (await admin
            .list(`${mount}/metadata/${prefix}/${folder}`)
            .catch(() => ({ data: { keys: [] } }))) as {
            data: { keys: string[] };
          };
          const out: string[] = [];
          for (const k of res.data.keys)
            out.push(...(k.endsWith('/') ? await keys(`${folder}${k}`) : [`${folder}${k}`]));
          return out;
        };
        for (const k of await keys('')) await admin.delete(`${mount}/metadata/${prefix}/${k}`);
        await admin.delete(`sys/auth/${approleMount}`).catch(() => undefined);
        await admin.delete(`sys/policies/acl/${policy}`).catch(() => undefined);
      },
    };
  });
}
