import { randomBytes } from 'node:crypto';
import { Topics, type Envelope } from '@hishamos/contracts';
import type { Identity } from '@hishamos/platform';
import { waitFor } from '@hishamos/testing';
import { AGENT_ACCESS, AUDIT_LOG, type AgentAccessPort, type AuditLogPort } from '../src/ports/gateway-ports';
import { BOOTSTRAP_KEY, FakeMetering, seedAgents, startGateway, type Gateway, type Json } from './identity-harness';

jest.setTimeout(120_000);

interface KeyJson extends Json {
  id: string;
  key: string;
  prefix: string;
}

describe('identity & access (embedded: PGlite, local bus)', () => {
  let gw: Gateway;
  let metering: FakeMetering;
  const events: Envelope<typeof Topics.AuditRecorded>[] = [];
  const admin = BOOTSTRAP_KEY;

  beforeAll(async () => {
    const token = randomBytes(32).toString('base64url');
    metering = new FakeMetering(token);
    await metering.start();
    gw = await startGateway({ serviceToken: token, platform: { METERING_URL: metering.url } });
    await seedAgents(gw, ['legal', 'finance', 'coding']);
    await gw.platform.eventBus.subscribe(
      'test.audit-events',
      Topics.AuditRecorded,
      gw.service.context.db,
      async (event) => void events.push(event),
    );
  });

  afterAll(async () => {
    await gw.stop();
    await metering.close();
  });

  const createUser = async (body: Json) => {
    const res = await gw.fetch('/v1/users', { key: admin, body });
    expect(res.status).toBe(201);
    return res.json as Json & { id: string };
  };
  const createKey = async (key: string, body: Json = { name: 'k' }) => {
    const res = await gw.fetch('/v1/api-keys', { key, body });
    expect(res.status).toBe(201);
    return res.json as KeyJson;
  };

  it('creates the bootstrap admin from HISHAMOS_BOOTSTRAP_API_KEY', async () => {
    const me = await gw.fetch('/v1/me', { key: admin });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({
      identity: { kind: 'user', roles: ['admin'], via: 'api_key', scopes: ['*'] },
      user: { email: 'admin@hishamos.local', roles: ['admin'], status: 'active' },
    });
    // the configured key is never echoed anywhere, not even in the logs
    expect(gw.logs.join('\n')).not.toContain(BOOTSTRAP_KEY);
  });

  it('rejects missing, malformed, unknown and wrong keys with 401 naming the problem', async () => {
    expect((await gw.fetch('/v1/me')).status).toBe(401);
    const malformed = await gw.fetch('/v1/me', { key: 'hos_short_x' });
    expect(malformed.status).toBe(401);
    expect(malformed.json).toMatchObject({ error: { code: 'invalid_api_key', field: 'authorization' } });
    expect((malformed.json.error as { message: string }).message).toContain('malformed API key');
    const foreign = await gw.fetch('/v1/me', { key: 'sk-proj-1234' });
    expect(foreign.status).toBe(401);
    expect((foreign.json.error as { message: string }).message).toContain('malformed API key');
    const header = await gw.fetch('/v1/me', { headers: { authorization: 'Basic abc' } });
    expect(header.status).toBe(401);
    expect((header.json.error as { message: string }).message).toContain('malformed Authorization header');
    const unknown = await gw.fetch('/v1/me', { key: `hos_zzzzzzzz_${'x'.repeat(43)}` });
    expect(unknown.status).toBe(401);
    expect(unknown.json).toMatchObject({ error: { code: 'invalid_api_key', message: 'invalid API key' } });
    const wrongSecret = await gw.fetch('/v1/me', { key: `${BOOTSTRAP_KEY.slice(0, 13)}${'Z'.repeat(40)}` });
    expect(wrongSecret.status).toBe(401);
  });

  it('runs an API key through its lifecycle: shown once, hashed, prefix visible, last used, revoked at once', async () => {
    const user = await createUser({ email: 'Ada@Example.com', name: 'Ada', roles: ['member'] });
    expect(user.email).toBe('ada@example.com');
    const created = await createKey(admin, { name: 'ada ci', userId: user.id, scopes: ['read', 'execute'] });
    expect(created.key).toMatch(/^hos_[a-z0-9]{8}_[A-Za-z0-9]{43}$/);
    expect(created.key.slice(4, 12)).toBe(created.prefix);
    expect(created).toMatchObject({ status: 'active', scopes: ['read', 'execute'], userId: user.id });

    // stored as a keyed hash, never as the key
    const [row] = await gw.service.context.db.query<{ key_hash: Buffer }>(
      `SELECT key_hash FROM api_keys WHERE id = $1`,
      [created.id],
    );
    expect(Buffer.from(row.key_hash).toString('utf8')).not.toContain(created.key);
    expect(Buffer.from(row.key_hash).length).toBe(32);

    const me = await gw.fetch('/v1/me', { key: created.key });
    expect(me.json).toMatchObject({ identity: { subject: user.id, roles: ['member'], keyId: created.id } });

    const list = await gw.fetch(`/v1/api-keys?userId=${user.id}`, { key: admin });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(created.key);
    expect(list.json.data).toEqual([
      expect.objectContaining({ id: created.id, prefix: created.prefix, hint: `hos_${created.prefix}_…` }),
    ]);
    // the owner sees their own keys (a read-scoped key may list)
    const own = await gw.fetch('/v1/api-keys', { key: created.key });
    expect((own.json.data as Json[]).map((k) => k.id)).toEqual([created.id]);

    // last used is recorded (batched; flushed on shutdown too)
    const auth = gw.service.app.get((await import('../src/identity/auth/gateway.authenticator')).GatewayAuthenticator);
    await (auth as unknown as { flushLastUsed(): Promise<void> }).flushLastUsed();
    const after = await gw.fetch(`/v1/api-keys?userId=${user.id}`, { key: admin });
    expect((after.json.data as Json[])[0].lastUsedAt).toEqual(expect.any(String));

    const revoked = await gw.fetch(`/v1/api-keys/${created.id}`, { method: 'DELETE', key: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ status: 'revoked' });
    const denied = await gw.fetch('/v1/me', { key: created.key });
    expect(denied.status).toBe(401);
    expect(denied.json).toMatchObject({ error: { code: 'api_key_revoked', message: 'API key revoked' } });
    expect(gw.logs.join('\n')).not.toContain(created.key);
  });

  it('refuses expired keys and lets people manage only their own keys', async () => {
    const bob = await createUser({ email: 'bob@example.com', name: 'Bob' });
    const bobKey = await createKey(admin, { name: 'bob', userId: bob.id });
    const carol = await createUser({ email: 'carol@example.com', name: 'Carol' });
    const carolKey = await createKey(admin, { name: 'carol', userId: carol.id });
    // Bob creates and revokes his own keys; cannot touch Carol's
    const second = await createKey(bobKey.key, { name: 'second', expiresInDays: 1 });
    expect(second.userId).toBe(bob.id);
    expect((await gw.fetch(`/v1/api-keys/${carolKey.id}`, { method: 'DELETE', key: bobKey.key })).status).toBe(404);
    expect((await gw.fetch(`/v1/api-keys?userId=${carol.id}`, { key: bobKey.key })).status).toBe(403);
    const forOther = await gw.fetch('/v1/api-keys', { key: bobKey.key, body: { name: 'x', userId: carol.id } });
    expect(forOther.status).toBe(403);
    expect((await gw.fetch(`/v1/api-keys/${second.id}/revoke`, { method: 'POST', key: bobKey.key })).status).toBe(200);

    // expired: set the expiry in the past directly, as time passing would
    await gw.service.context.db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      carolKey.id,
    ]);
    gw.service.app
      .get((await import('../src/identity/auth/identity-cache')).IdentityCache)
      .invalidateKey(carolKey.prefix);
    const expired = await gw.fetch('/v1/me', { key: carolKey.key });
    expect(expired.status).toBe(401);
    expect(expired.json).toMatchObject({ error: { code: 'api_key_expired' } });
    const past = await gw.fetch('/v1/api-keys', { key: admin, body: { name: 'x', expiresAt: '2001-01-01T00:00:00Z' } });
    expect(past.status).toBe(400);
    expect(past.json).toMatchObject({ error: { field: 'expiresAt' } });
  });

  it('enforces roles (403) on the admin APIs and scopes on keys', async () => {
    const viewer = await createUser({ email: 'vic@example.com', name: 'Vic', roles: ['viewer'] });
    const viewerKey = await createKey(admin, { name: 'v', userId: viewer.id });
    for (const path of ['/v1/users', '/v1/audit-logs', '/v1/providers', `/v1/users/${viewer.id}/agents`]) {
      const res = await gw.fetch(path, { key: viewerKey.key });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ error: { code: 'forbidden_role' } });
    }
    const member = await createUser({ email: 'mem@example.com', name: 'Mem' });
    const readOnly = await createKey(admin, { name: 'ro', userId: member.id, scopes: ['read'] });
    expect((await gw.fetch('/v1/me', { key: readOnly.key })).status).toBe(200);
    const write = await gw.fetch('/v1/api-keys', { key: readOnly.key, body: { name: 'more' } });
    expect(write.status).toBe(403);
    expect(write.json).toMatchObject({ error: { code: 'insufficient_scope' } });
    // an admin's key without the admin scope cannot use the admin APIs
    const adminExec = await createKey(admin, { name: 'exec only', scopes: ['execute', 'keys'] });
    const res = await gw.fetch('/v1/users', { key: adminExec.key });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: { code: 'insufficient_scope' } });
    // and cannot mint a key with more scopes than it has
    const escalate = await gw.fetch('/v1/api-keys', { key: adminExec.key, body: { name: 'x', scopes: ['*'] } });
    expect(escalate.status).toBe(403);
  });

  it('answers per-user agent toggles through AGENT_ACCESS and the users API', async () => {
    const access = gw.service.app.get<AgentAccessPort>(AGENT_ACCESS, { strict: false });
    const mia = await createUser({ email: 'mia@example.com', name: 'Mia', roles: ['member'] });
    const nia = await createUser({
      email: 'nia@example.com',
      name: 'Nia',
      roles: ['member'],
      defaultAgentAccess: 'none',
    });
    const vee = await createUser({ email: 'vee@example.com', name: 'Vee', roles: ['viewer'] });
    const as = (u: { id: string }, roles: Identity['roles'] = ['member']): Identity => ({
      kind: 'user',
      subject: u.id,
      roles,
      via: 'api_key',
    });
    // documented default (DEFAULT_AGENT_ACCESS=all): a new member may use every agent
    expect(await access.canUseAgent(as(mia), 'legal')).toBe(true);
    expect(await access.canUseAgent(as(nia), 'legal')).toBe(false);
    expect(await access.canUseAgent(as(vee, ['viewer']), 'legal')).toBe(false);
    const [adminRow] = await gw.service.context.db.query<{ id: string }>(
      `SELECT id FROM users WHERE email = 'admin@hishamos.local'`,
    );
    expect(await access.canUseAgent(as(adminRow, ['admin']), 'legal')).toBe(true);
    expect(
      await access.canUseAgent({ kind: 'service', subject: 'orchestrator', roles: [], via: 'service' }, 'legal'),
    ).toBe(true);
    // "can use the legal agent?" -> no, for Mia; yes for Nia
    const put = await gw.fetch(`/v1/users/${mia.id}/agents`, {
      method: 'PUT',
      key: admin,
      body: { agents: [{ slug: 'legal', allowed: false }] },
    });
    expect(put.status).toBe(200);
    expect(put.json.agents).toEqual(
      expect.arrayContaining([
        { slug: 'legal', allowed: false, toggle: false },
        { slug: 'finance', allowed: true, toggle: null },
      ]),
    );
    await gw.fetch(`/v1/users/${nia.id}/agents`, {
      method: 'PUT',
      key: admin,
      body: { agents: [{ slug: 'legal', allowed: true }] },
    });
    expect(await access.canUseAgent(as(mia), 'legal')).toBe(false);
    expect(await access.canUseAgent(as(mia), 'finance')).toBe(true);
    expect(await access.canUseAgent(as(nia), 'legal')).toBe(true);
    expect(await access.canUseAgent(as(nia), 'finance')).toBe(false);
    // admins keep every agent whatever their toggles say
    await gw.fetch(`/v1/users/${mia.id}/roles`, { method: 'PUT', key: admin, body: { roles: ['admin'] } });
    expect(await access.canUseAgent(as(mia), 'legal')).toBe(true);
    // reset goes back to the default
    await gw.fetch(`/v1/users/${nia.id}/agents`, { method: 'PUT', key: admin, body: { reset: ['legal'] } });
    expect(await access.canUseAgent(as(nia), 'legal')).toBe(false);
    // unknown agents and bad slugs are 400 naming the field
    const unknown = await gw.fetch(`/v1/users/${nia.id}/agents`, {
      method: 'PUT',
      key: admin,
      body: { agents: [{ slug: 'legall', allowed: true }] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ error: { code: 'unknown_agent', field: 'agents.0.slug' } });
    const bad = await gw.fetch(`/v1/users/${nia.id}/agents`, {
      method: 'PUT',
      key: admin,
      body: { agents: [{ slug: 'Legal!', allowed: 'yes' }] },
    });
    expect(bad.status).toBe(400);
    expect((bad.json.error as { field: string }).field).toMatch(/^agents\.0\./);
  });

  it('manages users: CRUD, roles, the last admin, deleted users lose their keys', async () => {
    const dup = await gw.fetch('/v1/users', { key: admin, body: { email: 'ADA@example.com', name: 'Ada 2' } });
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({ error: { code: 'email_taken', field: 'email' } });
    const dan = await createUser({
      email: 'dan@example.com',
      name: 'Dan',
      teamId: 'team-a',
      password: 'correct horse battery',
    });
    expect(dan).toMatchObject({ teamId: 'team-a', hasPassword: true, roles: ['member'] });
    expect(JSON.stringify(dan)).not.toMatch(/scrypt|correct horse/);
    const patched = await gw.fetch(`/v1/users/${dan.id}`, {
      method: 'PATCH',
      key: admin,
      body: { name: 'Daniel', teamId: null },
    });
    expect(patched.json).toMatchObject({ name: 'Daniel', teamId: null });
    const roles = await gw.fetch(`/v1/users/${dan.id}/roles`, {
      method: 'PUT',
      key: admin,
      body: { roles: ['operator', 'member'] },
    });
    expect(roles.json).toMatchObject({ roles: ['operator', 'member'] });
    expect((await gw.fetch(`/v1/users/${dan.id}/roles`, { key: admin })).json).toEqual({
      userId: dan.id,
      roles: ['operator', 'member'],
    });
    const page1 = await gw.fetch('/v1/users?limit=2', { key: admin });
    expect((page1.json.data as Json[]).length).toBe(2);
    const page2 = await gw.fetch(`/v1/users?limit=2&cursor=${page1.json.nextCursor as string}`, { key: admin });
    expect((page2.json.data as Json[])[0].id).not.toBe((page1.json.data as Json[])[1].id);
    expect((await gw.fetch('/v1/users?q=daniel', { key: admin })).json.data).toEqual([
      expect.objectContaining({ id: dan.id }),
    ]);

    // disabling stops their keys; enabling restores them
    const danKey = await createKey(admin, { name: 'd', userId: dan.id });
    await gw.fetch(`/v1/users/${dan.id}`, { method: 'PATCH', key: admin, body: { status: 'disabled' } });
    expect((await gw.fetch('/v1/me', { key: danKey.key })).json).toMatchObject({ error: { code: 'user_disabled' } });
    await gw.fetch(`/v1/users/${dan.id}`, { method: 'PATCH', key: admin, body: { status: 'active' } });
    expect((await gw.fetch('/v1/me', { key: danKey.key })).status).toBe(200);

    // the only admin cannot lose the role or be disabled; nobody deletes themselves
    const [adminRow] = await gw.service.context.db.query<{ id: string }>(
      `SELECT id FROM users WHERE email = 'admin@hishamos.local'`,
    );
    await gw.service.context.db.query(
      `UPDATE users SET roles = ARRAY['member'] WHERE roles @> ARRAY['admin'] AND id <> $1`,
      [adminRow.id],
    );
    const last = await gw.fetch(`/v1/users/${adminRow.id}/roles`, {
      method: 'PUT',
      key: admin,
      body: { roles: ['member'] },
    });
    expect(last.status).toBe(409);
    expect(last.json).toMatchObject({ error: { code: 'last_admin' } });
    expect((await gw.fetch(`/v1/users/${adminRow.id}`, { method: 'DELETE', key: admin })).status).toBe(409);

    const del = await gw.fetch(`/v1/users/${dan.id}`, { method: 'DELETE', key: admin });
    expect(del.json).toMatchObject({ status: 'deleted' });
    expect((await gw.fetch('/v1/me', { key: danKey.key })).status).toBe(401);
    expect((await gw.fetch(`/v1/users/${dan.id}`, { method: 'PATCH', key: admin, body: { name: 'x' } })).status).toBe(
      404,
    );
    // the address can be used again
    await createUser({ email: 'dan@example.com', name: 'Dan again' });
    expect((await gw.fetch('/v1/users/not-a-uuid', { key: admin })).status).toBe(404);
  });

  it('answers bad input with 400 naming the field', async () => {
    const cases: [Json, string][] = [
      [{ email: 'not-an-email', name: 'x' }, 'email'],
      [{ email: 'e1@example.com', name: 'x', roles: ['root'] }, 'roles'],
      [{ email: 'e2@example.com', name: 'x', password: 'short' }, 'password'],
      [{ email: 'e3@example.com', name: 'x', dailyBudgetUsd: -5 }, 'dailyBudgetUsd'],
      [{ email: 'e4@example.com', name: 'x', dailyBudgetUsd: '1.1234567' }, 'dailyBudgetUsd'],
      [{ email: 'e5@example.com', name: 'x', isAdmin: true }, 'isAdmin'],
      [{ email: 'e6@example.com', name: 'x', teamId: 'has spaces' }, 'teamId'],
    ];
    for (const [body, field] of cases) {
      const res = await gw.fetch('/v1/users', { key: admin, body });
      expect(res.status).toBe(400);
      expect((res.json.error as { field: string }).field).toBe(field);
    }
    const key = await gw.fetch('/v1/api-keys', { key: admin, body: { name: 'x', scopes: ['everything'] } });
    expect(key.json).toMatchObject({ error: { field: 'scopes' } });
    const malformed = await gw.fetch('/v1/users', { key: admin, body: '{"email":' });
    expect(malformed.json).toMatchObject({ error: { code: 'malformed_json', field: 'body' } });
    const audit = await gw.fetch('/v1/audit-logs?since=yesterday', { key: admin });
    expect(audit.json).toMatchObject({ error: { field: 'since' } });
  });

  it('forwards the daily budget to usage-metering on behalf of the admin, and fails clearly when it cannot', async () => {
    const eve = await createUser({ email: 'eve@example.com', name: 'Eve', dailyBudgetUsd: 25.5 });
    const sent = metering.budgets[metering.budgets.length - 1];
    expect(sent.body).toEqual({ scope: 'user', scopeId: eve.id, period: 'day', hardUsd: '25.5' });
    expect(sent.caller).toBe('agent-gateway');
    expect(sent.onBehalfOf).toMatchObject({ kind: 'user', roles: ['admin'], via: 'forwarded' });
    await gw.fetch(`/v1/users/${eve.id}`, { method: 'PATCH', key: admin, body: { dailyBudgetUsd: '10.00' } });
    expect(metering.budgets[metering.budgets.length - 1].body).toMatchObject({ scopeId: eve.id, hardUsd: '10.00' });

    metering.status = 500;
    const failed = await gw.fetch('/v1/users', {
      key: admin,
      body: { email: 'fay@example.com', name: 'Fay', dailyBudgetUsd: '5' },
    });
    expect(failed.status).toBe(502);
    expect(failed.json).toMatchObject({ error: { code: 'budget_unavailable', field: 'dailyBudgetUsd' } });
    // nothing half-written: no user
    expect((await gw.fetch('/v1/users?q=fay', { key: admin })).json.data).toEqual([]);
    metering.status = 400;
    const refused = await gw.fetch(`/v1/users/${eve.id}`, {
      method: 'PATCH',
      key: admin,
      body: { dailyBudgetUsd: '1', name: 'E' },
    });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'budget_rejected', field: 'dailyBudgetUsd' } });
    expect((await gw.fetch(`/v1/users/${eve.id}`, { key: admin })).json.name).toBe('Eve');
    metering.status = 201;
  });

  it('signs people in with email and password and accepts the HS256 token', async () => {
    await createUser({ email: 'gil@example.com', name: 'Gil', password: 'a long enough password' });
    const bad = await gw.fetch('/v1/auth/login', { body: { email: 'gil@example.com', password: 'wrong password!' } });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ error: { code: 'invalid_credentials', message: 'invalid email or password' } });
    const nobody = await gw.fetch('/v1/auth/login', { body: { email: 'nobody@example.com', password: 'whatever' } });
    expect(nobody.json).toEqual(bad.json);
    const ok = await gw.fetch('/v1/auth/login', {
      body: { email: 'GIL@example.com', password: 'a long enough password' },
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ tokenType: 'Bearer', expiresIn: 1800, user: { email: 'gil@example.com' } });
    const token = ok.json.accessToken as string;
    expect(token.split('.')).toHaveLength(3);
    const me = await gw.fetch('/v1/me', { key: token });
    expect(me.json).toMatchObject({ identity: { via: 'jwt', roles: ['member'] }, user: { email: 'gil@example.com' } });
    // tampered and expired tokens
    const [h, p] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), roles: ['admin'] })).toString('base64url')}.${token.split('.')[2]}`;
    expect((await gw.fetch('/v1/me', { key: forged })).json).toMatchObject({ error: { code: 'invalid_token' } });
    const { signHs256 } = await import('../src/identity/crypto/jwt');
    const keyring = gw.service.app.get((await import('../src/identity/crypto/identity-keyring')).IdentityKeyring);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Json;
    const expired = signHs256({ ...claims, exp: Math.floor(Date.now() / 1000) - 120 }, keyring.jwtSecret);
    const res = await gw.fetch('/v1/me', { key: expired });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'token_expired' } });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect((await gw.fetch('/v1/me', { key: none })).status).toBe(401);
    // changing the password needs the current one
    const change = await gw.fetch('/v1/me/password', { key: token, body: { newPassword: 'another long password' } });
    expect(change.json).toMatchObject({ error: { field: 'currentPassword' } });
    const changed = await gw.fetch('/v1/me/password', {
      key: token,
      body: { currentPassword: 'a long enough password', newPassword: 'another long password' },
    });
    expect(changed.status).toBe(200);
  });

  it('throttles repeated failed sign-ins', async () => {
    let last = 0;
    for (let i = 0; i < 12; i++)
      last = (await gw.fetch('/v1/auth/login', { body: { email: 'victim@example.com', password: `guess ${i}` } }))
        .status;
    expect(last).toBe(429);
  });

  it('writes an audit row and an AuditRecorded event for every change, in the same transaction', async () => {
    const hal = await createUser({ email: 'hal@example.com', name: 'Hal' });
    const key = await createKey(admin, { name: 'h', userId: hal.id });
    await gw.fetch(`/v1/users/${hal.id}/roles`, { method: 'PUT', key: admin, body: { roles: ['operator'] } });
    await gw.fetch(`/v1/users/${hal.id}/agents`, {
      method: 'PUT',
      key: admin,
      body: { agents: [{ slug: 'coding', allowed: false }] },
    });
    await gw.fetch(`/v1/api-keys/${key.id}`, {
      method: 'DELETE',
      key: admin,
      headers: { 'user-agent': 'audit-test/1.0' },
    });
    const log = await gw.fetch(`/v1/audit-logs?resourceId=${hal.id}`, { key: admin });
    expect(log.status).toBe(200);
    const actions = (log.json.data as Json[]).map((r) => r.action);
    expect(actions).toEqual(['user.agent_access_changed', 'user.roles_changed', 'user.created']);
    const revokedRow = (await gw.fetch(`/v1/audit-logs?action=api_key.revoked&resourceId=${key.id}`, { key: admin }))
      .json.data as Json[];
    expect(revokedRow[0]).toMatchObject({
      actor: expect.any(String),
      resourceType: 'api_key',
      outcome: 'success',
      ipAddress: expect.stringMatching(/127\.0\.0\.1/),
      userAgent: 'audit-test/1.0',
      sourceService: 'agent-gateway',
    });
    const roleRow = (log.json.data as Json[])[1];
    expect(roleRow.details).toEqual({ from: ['member'], to: ['operator'] });
    // the same changes as events through the outbox
    await waitFor(() => events.some((e) => e.payload.action === 'api_key.revoked' && e.payload.resourceId === key.id), {
      what: 'AuditRecorded for the revocation',
    });
    const roleEvent = events.find((e) => e.payload.action === 'user.roles_changed' && e.payload.resourceId === hal.id)!;
    expect(roleEvent.payload).toMatchObject({
      sourceService: 'agent-gateway',
      outcome: 'success',
      resourceType: 'user',
    });
    expect(roleEvent.payload.details).toEqual({ from: ['member'], to: ['operator'] });
    // secrets never reach audit details or events
    const all = JSON.stringify(events.map((e) => e.payload)) + JSON.stringify(log.json);
    expect(all).not.toContain(key.key);
    // paginated
    const p1 = await gw.fetch('/v1/audit-logs?limit=3', { key: admin });
    expect((p1.json.data as Json[]).length).toBe(3);
    const p2 = await gw.fetch(`/v1/audit-logs?limit=3&cursor=${p1.json.nextCursor as string}`, { key: admin });
    const ids1 = (p1.json.data as Json[]).map((r) => r.id);
    expect((p2.json.data as Json[]).every((r) => !ids1.includes(r.id))).toBe(true);
  });

  it('AUDIT_LOG.record writes in the caller transaction: a rollback leaves neither row nor event', async () => {
    const audit = gw.service.app.get<AuditLogPort>(AUDIT_LOG, { strict: false });
    await expect(
      gw.service.context.db.transaction(async (tx) => {
        await audit.record(
          { actor: 'x', action: 'test.rolled_back', resourceType: 't', resourceId: 'r1', outcome: 'success' },
          tx,
        );
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await audit.record({
      actor: 'x',
      action: 'test.kept',
      resourceType: 't',
      resourceId: 'r2',
      outcome: 'denied',
      details: { apiKey: 'sk-secret-value-123', n: 1 },
    });
    const rows = await gw.service.context.db.query<{ action: string; details: Json }>(
      `SELECT action, details FROM audit_logs WHERE resource_type = 't' ORDER BY seq`,
    );
    expect(rows.map((r) => r.action)).toEqual(['test.kept']);
    expect(rows[0].details).toEqual({ apiKey: '[REDACTED]', n: 1 });
    await waitFor(() => events.some((e) => e.payload.action === 'test.kept'), { what: 'test.kept event' });
    expect(events.some((e) => e.payload.action === 'test.rolled_back')).toBe(false);
  });
});
