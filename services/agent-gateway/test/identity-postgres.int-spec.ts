import { randomBytes, randomUUID } from 'node:crypto';
import { Topics } from '@hishamos/contracts';
import { createEventBus, type EventBus } from '@hishamos/messaging';
import { provisionServiceRole } from '@hishamos/persistence';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { SECRET_STORE, type SecretStorePort } from '../src/ports/gateway-ports';
import { BOOTSTRAP_KEY, FakeSecrets, startGateway, type Gateway, type Json } from './identity-harness';

jest.setTimeout(180_000);

describe('identity & access on Postgres and Kafka (distributed)', () => {
  let pg: Awaited<ReturnType<typeof requirePostgresDatabase>>;
  let gw: Gateway;
  let secretsBus: EventBus;
  let secrets: FakeSecrets;
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const admin = BOOTSTRAP_KEY;

  beforeAll(async () => {
    const brokers = await requireKafka();
    pg = await requirePostgresDatabase('gwidentity');
    const serviceUrl = await provisionServiceRole(pg.url, 'agent_gateway', randomBytes(12).toString('hex'));
    const token = randomBytes(32).toString('base64url');
    secrets = new FakeSecrets(token);
    await secrets.start();
    gw = await startGateway({
      serviceToken: token,
      distributed: { databaseUrl: serviceUrl, topicPrefix: prefix },
      platform: { KAFKA_BROKERS: brokers.join(','), SECRETS_URL: secrets.url },
    });
    // another service's producer (the secrets service publishes SecretRotated and AuditRecorded)
    secretsBus = createEventBus(
      { transport: 'kafka', brokers, clientId: `${prefix}-secrets`, partitions: 2, topicPrefix: prefix },
      'hishamos/secrets',
    );
    await secretsBus.start([Topics.SecretRotated, Topics.AuditRecorded]);
  });

  afterAll(async () => {
    await secretsBus?.stop();
    await gw?.stop();
    await secrets?.close();
    await pg?.drop();
  });

  it('runs the key lifecycle on Postgres', async () => {
    const user = await gw.fetch('/v1/users', {
      key: admin,
      body: { email: 'pg@example.com', name: 'Pg', roles: ['member'] },
    });
    expect(user.status).toBe(201);
    const created = await gw.fetch('/v1/api-keys', {
      key: admin,
      body: { name: 'pg', userId: user.json.id, scopes: ['read'] },
    });
    const key = created.json as Json & { id: string; key: string };
    expect((await gw.fetch('/v1/me', { key: key.key })).json).toMatchObject({ identity: { subject: user.json.id } });
    expect((await gw.fetch(`/v1/api-keys/${key.id}`, { method: 'DELETE', key: admin })).status).toBe(200);
    expect((await gw.fetch('/v1/me', { key: key.key })).status).toBe(401);
  });

  it('keeps one admin when two admins remove each other concurrently', async () => {
    const a = await gw.fetch('/v1/users', {
      key: admin,
      body: { email: 'a@example.com', name: 'A', roles: ['admin'] },
    });
    const b = await gw.fetch('/v1/users', {
      key: admin,
      body: { email: 'b@example.com', name: 'B', roles: ['admin'] },
    });
    const [adminRow] = await gw.service.context.db.query<{ id: string }>(
      `SELECT id FROM users WHERE email = 'admin@hishamos.local'`,
    );
    // the bootstrap admin steps down first, leaving A and B
    expect(
      (await gw.fetch(`/v1/users/${adminRow.id}/roles`, { method: 'PUT', key: admin, body: { roles: ['member'] } }))
        .status,
    ).toBe(200);
    const keyA = (
      await gw.service.context.db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM users WHERE 'admin' = ANY(roles)`,
      )
    )[0];
    expect(keyA.n).toBe('2');
    // admin's key no longer has the admin role: use keys of A and B
    const mint = async (userId: string) => {
      const { CreateApiKeyUseCase } = await import('../src/identity/usecases/create-api-key/create-api-key.usecase');
      const uc = gw.service.app.get(CreateApiKeyUseCase, { strict: false });
      return (
        await uc.execute(
          { name: 'x' },
          { identity: { kind: 'user', subject: userId, roles: ['admin'], via: 'api_key' } },
        )
      ).key;
    };
    const [ka, kb] = [await mint(a.json.id as string), await mint(b.json.id as string)];
    try {
      // Over HTTP the two requests race their authentication too: when one has committed before the
      // other is authenticated (a loaded machine), the other's caller is no longer an admin (403);
      // otherwise the last-admin guard refuses it (409). Either way exactly one admin remains.
      const results = await Promise.all([
        gw.fetch(`/v1/users/${b.json.id as string}/roles`, { method: 'PUT', key: ka, body: { roles: ['member'] } }),
        gw.fetch(`/v1/users/${a.json.id as string}/roles`, { method: 'PUT', key: kb, body: { roles: ['member'] } }),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect([
        [200, 403],
        [200, 409],
      ]).toContainEqual(statuses);
      const admins = await gw.service.context.db.query<{ id: string }>(
        `SELECT id FROM users WHERE 'admin' = ANY(roles) AND status = 'active'`,
      );
      expect(admins).toHaveLength(1);

      // The guard itself, with both callers already authorized as admins (as two requests that passed
      // authentication at the same time): the two demotions run concurrently and one is refused.
      const remaining = admins[0].id;
      const other = await gw.fetch('/v1/users', {
        key: remaining === a.json.id ? ka : kb,
        body: { email: 'c@example.com', name: 'C', roles: ['admin'] },
      });
      expect(other.status).toBe(201);
      const { SetUserRolesUseCase } = await import('../src/identity/usecases/set-user-roles/set-user-roles.usecase');
      const setRoles = gw.service.app.get(SetUserRolesUseCase, { strict: false });
      const asAdmin = (subject: string) => ({
        identity: { kind: 'user' as const, subject, roles: ['admin' as const], via: 'api_key' as const },
      });
      const outcomes = await Promise.allSettled([
        setRoles.execute(other.json.id as string, { roles: ['member'] }, asAdmin(remaining)),
        setRoles.execute(remaining, { roles: ['member'] }, asAdmin(other.json.id as string)),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((o) => o.status === 'rejected');
      expect((refused as PromiseRejectedResult).reason).toMatchObject({ status: 409 });
      expect(
        await gw.service.context.db.query(`SELECT id FROM users WHERE 'admin' = ANY(roles) AND status = 'active'`),
      ).toHaveLength(1);
    } finally {
      // restore the bootstrap admin for the next tests (also when this one failed)
      await gw.service.context.db.query(`UPDATE users SET roles = ARRAY['admin'] WHERE id = $1`, [adminRow.id]);
      const { IdentityCache } = await import('../src/identity/auth/identity-cache');
      gw.service.app.get(IdentityCache, { strict: false }).invalidateUser(adminRow.id);
    }
  });

  it('imports other services’ AuditRecorded events once, and skips its own', async () => {
    const id = randomUUID();
    const event = {
      auditId: 'a-1',
      actor: 'agent-gateway',
      action: 'secret.read',
      resourceType: 'secret',
      resourceId: 'ai/platforms/openai',
      outcome: 'success',
      sourceService: 'secrets',
      details: { version: 3 },
    };
    await secretsBus.publish(Topics.AuditRecorded, event, { key: 'ai/platforms/openai', id });
    await secretsBus.publish(Topics.AuditRecorded, event, { key: 'ai/platforms/openai', id });
    const rows = await waitFor(
      async () => {
        const r = await gw.service.context.db.query(`SELECT * FROM audit_logs WHERE action = 'secret.read'`);
        return r.length ? r : undefined;
      },
      { what: 'imported audit row', timeoutMs: 60_000 },
    );
    expect(rows[0]).toMatchObject({
      source_service: 'secrets',
      actor: 'agent-gateway',
      resource_id: 'ai/platforms/openai',
    });
    const log = await gw.fetch('/v1/audit-logs?sourceService=secrets', { key: admin });
    expect(log.json.data).toEqual([expect.objectContaining({ action: 'secret.read', details: { version: 3 } })]);

    // the gateway's own events come back through the same topic and are not stored twice
    const user = await gw.fetch('/v1/users', { key: admin, body: { email: 'echo@example.com', name: 'Echo' } });
    const group = `${prefix}.hishamos.agent-gateway.${Topics.AuditRecorded}`;
    await waitFor(
      async () => {
        const r = await gw.service.context.db.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM processed_events WHERE consumer = $1 AND event_id LIKE 'hishamos/agent-gateway:%'`,
          [group],
        );
        return Number(r[0].n) > 0 ? true : undefined;
      },
      { what: 'own audit events consumed', timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const again = await gw.service.context.db.query(`SELECT id FROM audit_logs WHERE resource_id = $1`, [user.json.id]);
    expect(again).toHaveLength(1);
    expect((await gw.service.context.db.query(`SELECT id FROM audit_logs WHERE action = 'secret.read'`)).length).toBe(
      1,
    );
  });

  it('drops a cached provider key on SecretRotated', async () => {
    secrets.values.set('ai/platforms/openai', [{ value: 'sk-original-key-0000000000', version: 1 }]);
    const store = gw.service.app.get<SecretStorePort>(SECRET_STORE, { strict: false });
    expect(await store.get('ai/platforms/openai')).toBe('sk-original-key-0000000000');
    secrets.values.get('ai/platforms/openai')!.push({ value: 'sk-rotated-key-11111111111', version: 2 });
    expect(await store.get('ai/platforms/openai')).toBe('sk-original-key-0000000000');
    await secretsBus.publish(
      Topics.SecretRotated,
      { path: 'ai/platforms/openai', version: 2, rotatedBy: 'ops' },
      { key: 'ai/platforms/openai' },
    );
    await waitFor(
      async () => ((await store.get('ai/platforms/openai')) === 'sk-rotated-key-11111111111' ? true : undefined),
      {
        what: 'the rotated key',
        timeoutMs: 60_000,
      },
    );
    expect(gw.logs.join('\n')).not.toMatch(/sk-(original|rotated)-key/);
  });
});
