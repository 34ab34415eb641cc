import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { CLOCK, type Clock } from '../src/clock';
import { admin, CapturedEvents, member, startSecrets, type StartedSecrets } from './fixtures/secrets-service';

jest.setTimeout(180000);

const b64 = () => randomBytes(32).toString('base64');
const val = () => `sv-${randomBytes(12).toString('hex')}`;
const q = (path: string, extra = '') => `/internal/v1/secrets?path=${encodeURIComponent(path)}${extra}`;

interface AuditRow {
  caller: string;
  caller_kind: string;
  path: string;
  version: number | null;
  action: string;
  outcome: string;
  reason: string | null;
  id: string;
}

describe('secrets service (distributed: Postgres + Kafka), local backend', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let brokers: string[];
  let s: StartedSecrets;
  let events: CapturedEvents;
  const k1 = b64();
  const topicPrefix = `t${randomBytes(4).toString('hex')}`;
  const env = (extra: Record<string, string> = {}) => ({
    ENCRYPTION_KEY: `k1:${k1}`,
    SECRETS_ROTATION_GRACE_SECONDS: '3600',
    SECRETS_SWEEP_INTERVAL_SECONDS: '1',
    ...extra,
  });
  const start = (extra?: Record<string, string>) =>
    startSecrets({ mode: 'distributed', databaseUrl: pg.url, brokers, topicPrefix, env: env(extra), logLevel: 'warn' });
  const audit = (where: string, params: unknown[] = []) =>
    s.service.context.db.query<AuditRow>(`SELECT * FROM audit_log WHERE ${where} ORDER BY at, id`, params);

  beforeAll(async () => {
    brokers = await requireKafka();
    pg = await requirePostgresDatabase('secrets_svc');
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    await c.query('CREATE SCHEMA secrets');
    await c.end();
    s = await start();
    events = new CapturedEvents();
    await events.attach(s);
  });
  afterAll(async () => {
    await s?.stop();
    await pg?.drop();
  });

  it('shows the active backend in /health/ready and /metrics', async () => {
    const ready = await fetch(`${s.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      checks: { secrets_backend: { ok: true, backend: 'local', activeKeyId: 'k1', keyIds: ['k1'] } },
    });
    expect(await (await fetch(`${s.url}/metrics`)).text()).toContain(
      'hishamos_secrets_backend{backend="local",service="secrets"} 1',
    );
  });

  it('puts, gets (latest or a version), lists versions and soft-deletes over the internal API', async () => {
    const gw = s.as('agent-gateway');
    const [a, b] = [val(), val()];
    const put1 = await gw.call('PUT', '/internal/v1/secrets', { body: { path: 'providers/openai', value: a } });
    expect(put1).toMatchObject({ path: 'providers/openai', version: 1 });
    expect(typeof put1.createdAt).toBe('string');
    await gw.call('PUT', '/internal/v1/secrets', {
      body: { path: 'providers/openai', value: b, cas: 1, metadata: { team: 'platform' } },
    });
    const got = await gw.call<{ value: string; version: number; metadata: Record<string, string> }>(
      'GET',
      q('providers/openai'),
    );
    expect(got.version).toBe(2);
    expect(got.value === b).toBe(true);
    expect(got.metadata).toEqual({ owner: 'agent-gateway', team: 'platform' });
    const old = await gw.call<{ value: string }>('GET', q('providers/openai', '&version=1'));
    expect(old.value === a).toBe(true);
    const conflict = await gw.attempt('PUT', '/internal/v1/secrets', {
      body: { path: 'providers/openai', value: val(), cas: 1 },
    });
    expect(conflict).toMatchObject({ status: 409, body: { error: { code: 'cas_mismatch', field: 'cas' } } });
    const versions = await gw.call('GET', `/internal/v1/secrets/versions?path=providers/openai`);
    expect(versions).toMatchObject({
      path: 'providers/openai',
      currentVersion: 2,
      versions: [
        { version: 1, destroyed: false },
        { version: 2, destroyed: false },
      ],
    });
    expect(await gw.call('DELETE', q('providers/openai'))).toMatchObject({ path: 'providers/openai', versions: [2] });
    expect(await gw.attempt('GET', q('providers/openai'))).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    await gw.call('POST', '/internal/v1/secrets/undelete', { body: { path: 'providers/openai', versions: [2] } });
    expect((await gw.call<{ version: number }>('GET', q('providers/openai'))).version).toBe(2);
    await gw.call('POST', '/internal/v1/secrets/destroy', { body: { path: 'providers/openai', versions: [1] } });
    expect((await gw.attempt('GET', q('providers/openai', '&version=1'))).status).toBe(404);
    expect(await gw.call('GET', '/internal/v1/secrets/list?folder=providers/')).toEqual({
      folder: 'providers/',
      keys: ['openai'],
    });
    expect(await gw.attempt('GET', q('providers/none'))).toMatchObject({ status: 404 });
  });

  it('answers bad input with the field at fault, never quoting the value', async () => {
    const gw = s.as('agent-gateway');
    const secret = val();
    const badPath = await gw.attempt('PUT', '/internal/v1/secrets', { body: { path: '../etc/passwd', value: secret } });
    expect(badPath).toMatchObject({ status: 400, body: { error: { code: 'validation_failed', field: 'path' } } });
    const empty = await gw.attempt('PUT', '/internal/v1/secrets', { body: { path: 'providers/x', value: '' } });
    expect(empty).toMatchObject({ status: 400, body: { error: { field: 'value' } } });
    const extra = await gw.attempt('PUT', '/internal/v1/secrets', {
      body: { path: 'providers/x', value: secret, owner: secret },
    });
    expect(extra).toMatchObject({ status: 400 });
    const badMeta = await gw.attempt('PUT', '/internal/v1/secrets', {
      body: { path: 'providers/x', value: secret, metadata: { k: 1 } },
    });
    expect(badMeta).toMatchObject({ status: 400, body: { error: { field: 'metadata' } } });
    for (const r of [badPath, empty, extra, badMeta]) expect(JSON.stringify(r.body).includes(secret)).toBe(false);
    expect((await fetch(`${s.url}${q('providers/x')}`)).status).toBe(401);
  });

  it('denies a path outside the caller scope, and records and publishes the denial', async () => {
    await s
      .as('agent-gateway')
      .call('PUT', '/internal/v1/secrets', { body: { path: 'ai/platforms/openai', value: val() } });
    const denied = await s.as('alerting').attempt('GET', q('ai/platforms/openai'));
    expect(denied).toMatchObject({ status: 403, body: { error: { code: 'forbidden_path', field: 'path' } } });
    expect(JSON.stringify(denied.body)).not.toContain('"value"');
    expect(
      (
        await s
          .as('orchestrator')
          .attempt('PUT', '/internal/v1/secrets', { body: { path: 'channels/x', value: val() } })
      ).status,
    ).toBe(403);
    const rows = await audit(`outcome = 'denied'`);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          caller: 'alerting',
          path: 'ai/platforms/openai',
          action: 'secret.read',
          reason: 'forbidden_path',
        }),
        expect.objectContaining({ caller: 'orchestrator', path: 'channels/x', action: 'secret.write' }),
      ]),
    );
    const id = rows.find((r) => r.caller === 'alerting')!.id;
    const event = await waitFor(() => events.audit.find((e) => e.payload.auditId === id), {
      what: 'AuditRecorded (denied)',
      timeoutMs: 60000,
    });
    expect(event.payload).toMatchObject({
      actor: 'alerting',
      action: 'secret.read',
      resourceType: 'secret',
      resourceId: 'ai/platforms/openai',
      outcome: 'denied',
      sourceService: 'secrets',
    });
    expect(event.key).toBe('ai/platforms/openai');
  });

  it('audits every read, write, rotation and failure, each published as AuditRecorded with the same id', async () => {
    const gw = s.as('agent-gateway');
    const path = 'ai/platforms/audited';
    await gw.call('PUT', '/internal/v1/secrets', { body: { path, value: val() } });
    await gw.call('GET', q(path));
    await gw.call('POST', '/internal/v1/secrets/rotate', { body: { path, value: val() } });
    await gw.call('GET', q(path, '&version=1'));
    await gw.attempt('GET', q(path, '&version=7'));
    const rows = await audit(`path = $1 AND caller = 'agent-gateway'`, [path]);
    expect(rows.map((r) => [r.caller, r.action, r.outcome, r.version, r.reason])).toEqual([
      ['agent-gateway', 'secret.write', 'success', 1, null],
      ['agent-gateway', 'secret.read', 'success', 1, null],
      ['agent-gateway', 'secret.rotate', 'success', 2, null],
      ['agent-gateway', 'secret.read', 'success', 1, null],
      ['agent-gateway', 'secret.read', 'error', 7, 'not_found'],
    ]);
    await waitFor(() => rows.every((r) => events.audit.some((e) => e.payload.auditId === r.id)), {
      what: 'an AuditRecorded event per audit row',
      timeoutMs: 60000,
    });
    const rotateEvent = events.audit.find((e) => e.payload.auditId === rows[2].id)!;
    expect(rotateEvent.payload.details).toMatchObject({ version: 2, previousVersion: 1, backend: 'local' });
  });

  it('rotates: new version, old one readable for the grace period then refused and soft-deleted, SecretRotated without the value', async () => {
    const gw = s.as('agent-gateway');
    const path = 'ai/platforms/anthropic';
    const [oldKey, newKey] = [val(), val()];
    await gw.call('PUT', '/internal/v1/secrets', { body: { path, value: oldKey } });
    const rotated = await gw.call<{ version: number; previousVersion: number; graceUntil: string }>(
      'POST',
      '/internal/v1/secrets/rotate',
      { body: { path, value: newKey } },
    );
    expect(rotated).toMatchObject({ path, version: 2, previousVersion: 1 });
    expect(new Date(rotated.graceUntil).getTime()).toBeGreaterThan(Date.now());
    expect((await gw.call<{ value: string }>('GET', q(path))).value === newKey).toBe(true);
    expect((await gw.call<{ value: string }>('GET', q(path, '&version=1'))).value === oldKey).toBe(true);
    const meta = await gw.call<{ metadata: Record<string, string> }>(
      'GET',
      `/internal/v1/secrets/versions?path=${path}`,
    );
    expect(meta.metadata.owner).toBe('agent-gateway');
    expect(typeof meta.metadata.rotated_at).toBe('string');
    const event = await waitFor(() => events.rotated.find((e) => e.payload.path === path), {
      what: 'SecretRotated',
      timeoutMs: 60000,
    });
    expect(event.payload).toMatchObject({ path, version: 2, rotatedBy: 'agent-gateway' });
    expect(
      Object.keys(event.payload)
        .filter((k) => !k.startsWith('$'))
        .sort(),
    ).toEqual(['path', 'rotatedBy', 'version']);
    // after the grace period (the clock moved past it): 410, then the sweeper soft-deletes version 1
    const clock = s.service.app.get<Clock>(CLOCK);
    const later = new Date(new Date(rotated.graceUntil).getTime() + 1000);
    const moved = jest.spyOn(clock, 'now').mockImplementation(() => later);
    try {
      const gone = await gw.attempt('GET', q(path, '&version=1'));
      expect(gone).toMatchObject({ status: 410, body: { error: { code: 'version_expired', field: 'version' } } });
      expect((await gw.call<{ value: string }>('GET', q(path))).value === newKey).toBe(true);
      await waitFor(
        async () => {
          const v = await gw.call<{ versions: { version: number; deletedAt?: string }[] }>(
            'GET',
            `/internal/v1/secrets/versions?path=${path}`,
          );
          return v.versions.find((x) => x.version === 1)?.deletedAt !== undefined;
        },
        { what: 'sweeper soft-deleting the rotated-out version', timeoutMs: 20000 },
      );
    } finally {
      moved.mockRestore();
    }
    expect((await audit(`path = $1 AND action = 'secret.expire'`, [path]))[0]).toMatchObject({
      caller: 'system:secrets',
      version: 1,
      outcome: 'success',
    });
  });

  it('concurrent rotations cannot overwrite each other (check-and-set)', async () => {
    const gw = s.as('agent-gateway');
    const path = 'ai/platforms/concurrent';
    await gw.call('PUT', '/internal/v1/secrets', { body: { path, value: val() } });
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        gw.attempt('POST', '/internal/v1/secrets/rotate', { body: { path, value: val() } }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const failed = results.filter((r) => r.status !== 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect(f).toMatchObject({ status: 409, body: { error: { code: 'cas_mismatch' } } });
    const versions = ok.map((r) => r.body.version as number).sort((a, b) => a - b);
    expect(new Set(versions).size).toBe(ok.length);
    expect(
      (await gw.call<{ currentVersion: number }>('GET', `/internal/v1/secrets/versions?path=${path}`)).currentVersion,
    ).toBe(1 + ok.length);
  });

  it('lets administrators forwarded by the gateway manage ai/platforms/* without reading values', async () => {
    const gw = s.as('agent-gateway');
    const path = 'ai/platforms/gemini';
    await gw.call('PUT', '/internal/v1/secrets', { body: { path, value: val() }, onBehalfOf: admin });
    await gw.call('POST', '/internal/v1/secrets/rotate', { body: { path, value: val() }, onBehalfOf: admin });
    expect(
      (await gw.call('GET', `/internal/v1/secrets/versions?path=${path}`, { onBehalfOf: admin })).currentVersion,
    ).toBe(2);
    expect((await gw.attempt('GET', q(path), { onBehalfOf: admin })).status).toBe(403);
    expect(
      (
        await gw.attempt('PUT', '/internal/v1/secrets', {
          body: { path: 'channels/x', value: val() },
          onBehalfOf: admin,
        })
      ).status,
    ).toBe(403);
    expect(
      (await gw.attempt('PUT', '/internal/v1/secrets', { body: { path, value: val() }, onBehalfOf: member })).status,
    ).toBe(403);
    const rows = await audit('path = $1', [path]);
    expect(rows.map((r) => [r.caller, r.caller_kind, r.action, r.outcome])).toEqual([
      ['user:u-admin', 'user', 'secret.write', 'success'],
      ['user:u-admin', 'user', 'secret.rotate', 'success'],
      ['user:u-admin', 'user', 'secret.versions', 'success'],
      ['user:u-admin', 'user', 'secret.read', 'denied'],
      ['user:u-member', 'user', 'secret.write', 'denied'],
    ]);
    expect(
      (await gw.call<{ metadata: Record<string, string> }>('GET', `/internal/v1/secrets/versions?path=${path}`))
        .metadata.owner,
    ).toBe('user:u-admin');
  });

  it("offers the seed's platform-key helpers (store, get, rotate ai/platforms/<platform>)", async () => {
    const gw = s.as('agent-gateway');
    const [k, k2] = [val(), val()];
    expect(
      await gw.call('PUT', '/internal/v1/platform-keys/openrouter', {
        body: { apiKey: k, metadata: { base_url: 'https://openrouter.ai/api/v1' } },
      }),
    ).toMatchObject({ platform: 'openrouter', path: 'ai/platforms/openrouter', version: 1 });
    const got = await gw.call<{ apiKey: string; version: number }>('GET', '/internal/v1/platform-keys/openrouter');
    expect(got.apiKey === k && got.version === 1).toBe(true);
    expect(
      await gw.call('POST', '/internal/v1/platform-keys/openrouter/rotate', { body: { apiKey: k2 } }),
    ).toMatchObject({
      platform: 'openrouter',
      version: 2,
      previousVersion: 1,
    });
    expect((await gw.call<{ apiKey: string }>('GET', '/internal/v1/platform-keys/openrouter')).apiKey === k2).toBe(
      true,
    );
    const generic = await gw.call<{ metadata: Record<string, string> }>('GET', q('ai/platforms/openrouter'));
    expect(generic.metadata).toMatchObject({ platform: 'openrouter', base_url: 'https://openrouter.ai/api/v1' });
    expect((await s.as('alerting').attempt('GET', '/internal/v1/platform-keys/openrouter')).status).toBe(403);
    expect((await gw.attempt('GET', '/internal/v1/platform-keys/Bad!')).status).toBe(400);
  });

  it('fails the request when the audit record cannot be written, and commits nothing', async () => {
    const gw = s.as('agent-gateway');
    const path = 'providers/audit-broken';
    const value = val();
    await gw.call('PUT', '/internal/v1/secrets', { body: { path, value } });
    const db = s.service.context.db;
    await db.query(`ALTER TABLE audit_log RENAME TO audit_log_off`);
    try {
      const write = await gw.attempt('PUT', '/internal/v1/secrets', { body: { path, value: val() } });
      expect(write).toMatchObject({ status: 500, body: { error: { code: 'audit_failed' } } });
      const read = await gw.attempt('GET', q(path));
      expect(read).toMatchObject({ status: 500, body: { error: { code: 'audit_failed' } } });
      expect(JSON.stringify(read.body).includes(value)).toBe(false);
      const denied = await s.as('alerting').attempt('GET', q(path));
      expect(denied).toMatchObject({ status: 500, body: { error: { code: 'audit_failed' } } });
    } finally {
      await db.query(`ALTER TABLE audit_log_off RENAME TO audit_log`);
    }
    expect(
      (await gw.call<{ currentVersion: number }>('GET', `/internal/v1/secrets/versions?path=${path}`)).currentVersion,
    ).toBe(1);
  });

  it('rotates the master key without downtime: new key first in ENCRYPTION_KEY, re-encrypt, retire the old key', async () => {
    const gw = s.as('agent-gateway');
    const written = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const path = `providers/mk${i}`;
      const v = val();
      await gw.call('PUT', '/internal/v1/secrets', { body: { path, value: v } });
      written.set(path, v);
    }
    // only administrators (or SECRETS_ADMIN_SERVICES) may re-encrypt; the denial is audited
    expect((await gw.attempt('POST', '/internal/v1/admin/keyring/reencrypt', { body: {} })).status).toBe(403);
    expect((await audit(`action = 'secret.rekey' AND outcome = 'denied'`)).length).toBe(1);

    await s.stop();
    const k2 = b64();
    s = await start({ ENCRYPTION_KEY: `k2:${k2},k1:${k1}`, SECRETS_REKEY_ON_BOOT: 'false' });
    const status = await s
      .as('agent-gateway')
      .call<{ activeKeyId: string; valuesByKey: Record<string, number> }>('GET', '/internal/v1/admin/keyring', {
        onBehalfOf: admin,
      });
    expect(status.activeKeyId).toBe('k2');
    const onK1 = status.valuesByKey.k1;
    expect(onK1).toBeGreaterThan(12);
    const gw2 = s.as('agent-gateway');
    // reads keep working during re-encryption
    const reading = Promise.all(
      [...written].map(async ([path, v]) => (await gw2.call<{ value: string }>('GET', q(path))).value === v),
    );
    const result = await gw2.call<{ reencrypted: number; valuesByKey: Record<string, number> }>(
      'POST',
      '/internal/v1/admin/keyring/reencrypt',
      { body: { batchSize: 5 }, onBehalfOf: admin },
    );
    expect((await reading).every(Boolean)).toBe(true);
    expect(result.reencrypted).toBe(onK1);
    expect(Object.keys(result.valuesByKey)).toEqual(['k2']);
    expect((await audit(`action = 'secret.rekey' AND outcome = 'success'`)).length).toBeGreaterThanOrEqual(
      Math.ceil(onK1 / 5),
    );

    // the old key can go; a third key re-encrypts by itself at start (SECRETS_REKEY_ON_BOOT)
    await s.stop();
    const k3 = b64();
    s = await start({ ENCRYPTION_KEY: `k3:${k3},k2:${k2}` });
    await waitFor(
      async () => {
        const st = await s
          .as('agent-gateway')
          .call<{ valuesByKey: Record<string, number> }>('GET', '/internal/v1/admin/keyring', {
            onBehalfOf: admin,
          });
        return Object.keys(st.valuesByKey).join() === 'k3';
      },
      { what: 're-encryption at start', timeoutMs: 30000 },
    );
    for (const [path, v] of written)
      expect((await s.as('agent-gateway').call<{ value: string }>('GET', q(path))).value === v).toBe(true);
    expect(await (await fetch(`${s.url}/health/ready`)).json()).toMatchObject({
      checks: { secrets_backend: { activeKeyId: 'k3', keyIds: ['k3', 'k2'], valuesPendingReencryption: 0 } },
    });
  });
});
