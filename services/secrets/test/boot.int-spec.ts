import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createLogger } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import { createLocalBackend } from '../src/backends/default-backends';
import { SecretsSettings } from '../src/config/secrets.settings';
import { CapturedLogs, startSecrets, type StartedSecrets } from './fixtures/secrets-service';
import { FakeVault } from './fixtures/fake-vault.server';

jest.setTimeout(120000);

const val = () => `sv-${randomBytes(12).toString('hex')}`;
const q = (path: string) => `/internal/v1/secrets?path=${encodeURIComponent(path)}`;
const ready = async (s: StartedSecrets) =>
  (await fetch(`${s.url}/health/ready`)).json() as Promise<Record<string, unknown>>;

describe('embedded mode: the local store key in the data directory', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-secrets-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('generates a master key into <data dir>/secrets.key (0600), says so, and finds it again after a restart', async () => {
    const logs = new CapturedLogs();
    let s = await startSecrets({ mode: 'embedded', dataDir, logs, logLevel: 'info' });
    const file = join(dataDir, 'secrets.key');
    const value = val();
    try {
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^k1:[A-Za-z0-9+/]{43}=\n$/);
      expect(logs.text).toContain('no ENCRYPTION_KEY: generated a master key for the local secret store');
      expect(logs.text).toContain(file);
      expect(logs.text.includes(readFileSync(file, 'utf8').trim().slice(3))).toBe(false);
      expect(await ready(s)).toMatchObject({
        checks: { secrets_backend: { ok: true, backend: 'local', activeKeyId: 'k1' } },
      });
      await s.as('agent-gateway').call('PUT', '/internal/v1/secrets', { body: { path: 'ai/platforms/openai', value } });
    } finally {
      await s.stop();
    }
    const again = new CapturedLogs();
    s = await startSecrets({ mode: 'embedded', dataDir, logs: again, logLevel: 'info' });
    try {
      expect(again.text).not.toContain('generated a master key');
      const got = await s.as('agent-gateway').call<{ value: string }>('GET', q('ai/platforms/openai'));
      expect(got.value === value).toBe(true);
    } finally {
      await s.stop();
    }
  });

  it('refuses to start with a wrong ENCRYPTION_KEY, and with a key file others can read', async () => {
    const own = mkdtempSync(join(tmpdir(), 'hishamos-secrets-wrong-'));
    try {
      const right = `k1:${randomBytes(32).toString('base64')}`;
      const s = await startSecrets({
        mode: 'embedded',
        dataDir: own,
        env: { ENCRYPTION_KEY: right },
        logLevel: 'error',
      });
      await s.as('alerting').call('PUT', '/internal/v1/secrets', { body: { path: 'channels/slack', value: val() } });
      await s.stop();
      const wrong = `k1:${randomBytes(32).toString('base64')}`;
      const failure = await startSecrets({
        mode: 'embedded',
        dataDir: own,
        env: { ENCRYPTION_KEY: wrong },
        logLevel: 'error',
      }).catch((e: unknown) => e as Error);
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(
        /ENCRYPTION_KEY key k1 is not the key this secret store was encrypted with/,
      );
      expect((failure as Error).message.includes(wrong.slice(3))).toBe(false);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
    // the generated key file of the first test, made readable by others
    const file = join(dataDir, 'secrets.key');
    chmodSync(file, 0o644);
    try {
      await expect(startSecrets({ mode: 'embedded', dataDir, logLevel: 'error' })).rejects.toThrow(
        /readable by other users/,
      );
    } finally {
      chmodSync(file, 0o600);
    }
  });

  it('refuses to start in distributed mode without ENCRYPTION_KEY or Vault', async () => {
    await expect(
      createLocalBackend({
        settings: new SecretsSettings(),
        db: undefined as never, // never reached
        logger: createLogger('secrets-test', 'error'),
        mode: 'distributed',
        dataDir,
      }),
    ).rejects.toThrow(/ENCRYPTION_KEY is required for the local secret store in distributed mode/);
  });
});

describe('Vault chosen at boot when VAULT_URL authenticates (distributed: Postgres + Kafka)', () => {
  let fake: FakeVault;
  let brokers: string[];
  const drops: (() => Promise<void>)[] = [];
  /** A fresh database with the secrets schema for one start. */
  const database = async () => {
    const pg = await requirePostgresDatabase('secrets_vault');
    drops.push(pg.drop);
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    await c.query('CREATE SCHEMA secrets');
    await c.end();
    return pg.url;
  };
  const start = async (env: Record<string, string>, extra: { logs?: CapturedLogs; logLevel?: string } = {}) =>
    startSecrets({ mode: 'distributed', databaseUrl: await database(), brokers, env, logLevel: 'error', ...extra });
  beforeAll(async () => {
    brokers = await requireKafka();
    fake = new FakeVault({ approle: { roleId: 'role-1', secretId: `sid-${val()}`, tokenTtl: 300 } });
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
    for (const drop of drops) await drop();
  });

  it('uses Vault KV v2 with a token, shows it in /health/ready, and audits with backend vault', async () => {
    const s = await start({ VAULT_URL: fake.url, VAULT_TOKEN: fake.rootToken });
    try {
      expect(await ready(s)).toMatchObject({
        status: 'ok',
        checks: {
          secrets_backend: { ok: true, backend: 'vault', auth: 'token', mount: 'secret', authenticated: true },
        },
      });
      const gw = s.as('agent-gateway');
      const [a, b] = [val(), val()];
      await gw.call('PUT', '/internal/v1/secrets', { body: { path: 'ai/platforms/openai', value: a } });
      const rotated = await gw.call('POST', '/internal/v1/secrets/rotate', {
        body: { path: 'ai/platforms/openai', value: b },
      });
      expect(rotated).toMatchObject({ version: 2, previousVersion: 1 });
      expect((await gw.call<{ value: string }>('GET', q('ai/platforms/openai'))).value === b).toBe(true);
      const writes = fake.requestsTo('data').filter((r) => r.method === 'POST');
      expect(writes.map((r) => [r.path, (r.body as { options?: unknown }).options])).toEqual([
        ['/v1/secret/data/hishamos/ai/platforms/openai', undefined],
        ['/v1/secret/data/hishamos/ai/platforms/openai', { cas: 1 }],
      ]);
      const meta = await gw.call<{ metadata: Record<string, string> }>(
        'GET',
        '/internal/v1/secrets/versions?path=ai/platforms/openai',
      );
      expect(meta.metadata).toMatchObject({ owner: 'agent-gateway' });
      expect(typeof meta.metadata.rotated_at).toBe('string');
      const rows = await s.service.context.db.query<{ backend: string }>(`SELECT DISTINCT backend FROM audit_log`);
      expect(rows).toEqual([{ backend: 'vault' }]);
      // the local store holds nothing
      expect(await s.service.context.db.query(`SELECT * FROM secret_versions`)).toEqual([]);
    } finally {
      await s.stop();
    }
  });

  it('uses AppRole when VAULT_ROLE_ID and VAULT_SECRET_ID are set', async () => {
    const s = await start({ VAULT_URL: fake.url, VAULT_ROLE_ID: 'role-1', VAULT_SECRET_ID: fake.approle!.secretId });
    try {
      expect(await ready(s)).toMatchObject({ checks: { secrets_backend: { backend: 'vault', auth: 'approle' } } });
    } finally {
      await s.stop();
    }
  });

  it('falls back to the local store when Vault does not authenticate (auto), and says why', async () => {
    const logs = new CapturedLogs();
    const badToken = `hvs.${randomBytes(12).toString('hex')}`;
    const s = await start(
      { VAULT_URL: fake.url, VAULT_TOKEN: badToken, ENCRYPTION_KEY: `k1:${randomBytes(32).toString('base64')}` },
      { logs, logLevel: 'warn' },
    );
    try {
      expect(await ready(s)).toMatchObject({
        checks: {
          secrets_backend: {
            ok: true,
            backend: 'local',
            vaultConfigured: true,
            vaultError: expect.stringContaining('permission denied'),
          },
        },
      });
      expect(logs.text).toContain('Vault is configured but did not authenticate');
      expect(logs.text.includes(badToken)).toBe(false);
    } finally {
      await s.stop();
    }
  });

  it('refuses to start with SECRETS_BACKEND=vault when Vault does not authenticate', async () => {
    // embedded: a start that fails leaves the service's database open (PGlite holds no socket)
    const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-secrets-vault-'));
    drops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    await expect(
      startSecrets({
        mode: 'embedded',
        dataDir,
        env: { SECRETS_BACKEND: 'vault', VAULT_URL: fake.url, VAULT_TOKEN: 'hvs.wrong-token-1234' },
        logLevel: 'error',
      }),
      // The loopback fake occasionally resets a reused keep-alive socket under load; either way the service must refuse.
    ).rejects.toThrow(
      /Vault at http:\/\/127\.0\.0\.1:\d+ did not authenticate \(token\): (permission denied|unreachable \(ECONNRESET\))/,
    );
  });
});
