import 'reflect-metadata';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import {
  ApiError,
  AUTHENTICATOR,
  loadConfig,
  Platform,
  PlatformConfig,
  REPO_ROOT,
  serviceCredential,
  type Authenticator,
  type AuthRequest,
  type Identity,
  type ServiceDefinition,
} from '@hishamos/platform';
import { CatalogModule, seedCatalogOnStart } from '../src/catalog';

jest.setTimeout(180_000);

@Injectable()
class TestAuthenticator implements Authenticator {
  async authenticate(req: AuthRequest): Promise<Identity | undefined> {
    const h = req.headers['authorization'];
    if (h === undefined) return undefined;
    if (h === 'Bearer admin-key') return { kind: 'user', subject: 'u-admin', roles: ['admin'], via: 'api_key' };
    if (h === 'Bearer member-key') return { kind: 'user', subject: 'u-member', roles: ['member'], via: 'api_key' };
    throw ApiError.unauthorized('invalid API key');
  }
}

@Module({ imports: [CatalogModule], providers: [{ provide: AUTHENTICATOR, useClass: TestAuthenticator }] })
class TestModule {}

/** Only the platform's and the catalog's migrations: this suite tests the catalog's HTTP API alone. */
function migrationsRoot(dir: string): string {
  const root = join(dir, 'migrations');
  cpSync(join(REPO_ROOT, 'migrations', '_platform'), join(root, '_platform'), { recursive: true });
  mkdirSync(join(root, 'agent-gateway'), { recursive: true });
  cpSync(
    join(REPO_ROOT, 'migrations', 'agent-gateway', '0010_catalog.sql'),
    join(root, 'agent-gateway', '0010_catalog.sql'),
  );
  return root;
}

describe('the catalog HTTP API', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-catalog-api-'));
  const token = 'k'.repeat(40);
  let platform: Platform;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig(PlatformConfig, { HISHAMOS_DATA_DIR: dataDir, LOG_LEVEL: 'error', SERVICE_TOKEN: token });
    const definition: ServiceDefinition = {
      name: 'agent-gateway',
      consumes: [],
      publishes: [],
      module: TestModule,
      onStart: async (ctx) => {
        await seedCatalogOnStart(ctx);
      },
    };
    platform = new Platform({
      config,
      ports: { 'agent-gateway': 0 },
      migrationsRoot: migrationsRoot(dataDir),
      env: {},
    });
    await platform.start([definition]);
    url = platform.services[0].url;
  });
  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const admin = { authorization: 'Bearer admin-key' };
  const member = { authorization: 'Bearer member-key' };
  async function call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> & { error?: Record<string, unknown> } }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('asks for credentials, then lists the seeded roster for anyone signed in', async () => {
    expect((await call('GET', '/v1/agents', {})).status).toBe(401);
    const agents = await call('GET', '/v1/agents', member);
    expect(agents.status).toBe(200);
    expect((agents.json.data as { slug: string }[]).map((a) => a.slug)).toHaveLength(15);
    const coding = await call('GET', '/v1/agents/coding', member);
    expect(coding.json).toMatchObject({ slug: 'coding', category: 'engineering', source: 'seed' });
    expect(coding.json.commands).toEqual(expect.arrayContaining(['write_code', 'debug', 'refactor']));
    const missing = await call('GET', '/v1/agents/astrologer', member);
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'not_found', field: 'agent' });
  });

  it('lists commands and resolves one by production label, version or label', async () => {
    const commands = await call('GET', '/v1/agents/coding/commands', member);
    expect((commands.json.data as unknown[]).length).toBeGreaterThanOrEqual(15);
    const command = await call('GET', '/v1/agents/coding/commands/write_code', member);
    expect(command.json).toMatchObject({
      agent: 'coding',
      name: 'write_code',
      version: 1,
      labels: ['latest', 'production', 'seed'],
    });
    expect((await call('GET', '/v1/agents/coding/commands/write_code?version=1', member)).status).toBe(200);
    const bad = await call('GET', '/v1/agents/coding/commands/write_code?version=first', member);
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ field: 'version' });
    expect((await call('GET', '/v1/agents/coding/commands/write_code?label=Not%20A%20Label', member)).status).toBe(400);
    expect((await call('GET', '/v1/agents/coding/commands/write_code?version=7', member)).status).toBe(404);
    expect((await call('GET', '/v1/agents/coding/commands/no_such_command', member)).status).toBe(404);
  });

  it('lets only admins write versions, validated against the input schema', async () => {
    const current = (await call('GET', '/v1/agents/devops/commands/check_health', member)).json as { template: string };
    const template = `${current.template}\nEnd with the single most important follow-up.`;
    const path = '/v1/agents/devops/commands/check_health/versions';
    expect((await call('POST', path, member, { template, note: 'x' })).status).toBe(403);
    const invalid = await call('POST', path, admin, { template: `${template}\nFor {cluster_name}.`, note: 'x' });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error).toMatchObject({ code: 'invalid_template', field: 'template' });
    const extra = await call('POST', path, admin, { template, note: 'x', version: 9 });
    expect(extra.status).toBe(400);
    const created = await call('POST', path, admin, { template, note: 'follow-up' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      version: 2,
      source: 'admin',
      createdBy: 'u-admin',
      labels: ['latest'],
      note: 'follow-up',
    });
    // still runs version 1 until production moves
    expect((await call('GET', '/v1/agents/devops/commands/check_health', member)).json.version).toBe(1);
  });

  it('promotes and rolls back by moving the production label (admins only)', async () => {
    const path = '/v1/agents/devops/commands/check_health/labels/production';
    expect((await call('PUT', path, member, { version: 2 })).status).toBe(403);
    const promoted = await call('PUT', path, admin, { version: 2 });
    expect(promoted.status).toBe(200);
    expect(promoted.json.labels).toEqual({ latest: 2, production: 2, seed: 1 });
    expect((await call('GET', '/v1/agents/devops/commands/check_health', member)).json.version).toBe(2);
    const rolledBack = await call('PUT', path, admin, { version: 1 });
    expect(rolledBack.json.move).toMatchObject({
      label: 'production',
      fromVersion: 2,
      toVersion: 1,
      movedBy: 'u-admin',
    });
    expect((await call('GET', '/v1/agents/devops/commands/check_health', member)).json.version).toBe(1);
    expect(
      (await call('PUT', '/v1/agents/devops/commands/check_health/labels/latest', admin, { version: 1 })).status,
    ).toBe(400);
    expect((await call('PUT', path, admin, { version: 99 })).status).toBe(404);
    expect((await call('PUT', path, admin, { version: 'two' })).status).toBe(400);

    const versions = await call('GET', '/v1/agents/devops/commands/check_health/versions', member);
    expect((versions.json.data as { version: number }[]).map((v) => v.version)).toEqual([2, 1]);
    expect((versions.json.history as { label: string }[]).filter((h) => h.label === 'production')).toHaveLength(3);
  });

  it('takes drafts from feedback-ml only, and never as production', async () => {
    const path = '/internal/v1/templates/legal/review_contract/drafts';
    const current = (await call('GET', '/v1/agents/legal/commands/review_contract', member)).json as {
      template: string;
    };
    const body = {
      template: `${current.template}\nQuote the clause number for every finding.`,
      note: 'raters asked for clause numbers',
      suggestionId: '6f1c1d9e-8a4b-4c1e-9a5e-3f2b7c9d0e1a',
    };
    const feedback = { authorization: `Bearer ${serviceCredential(token, 'feedback-ml')}` };
    const alerting = { authorization: `Bearer ${serviceCredential(token, 'alerting')}` };
    expect((await call('POST', path, admin, body)).status).toBe(403);
    expect((await call('POST', path, alerting, body)).status).toBe(403);
    const draft = await call('POST', path, feedback, body);
    expect(draft.status).toBe(201);
    expect(draft.json).toMatchObject({
      version: 2,
      source: 'suggestion',
      labels: ['draft'],
      createdBy: 'service:feedback-ml',
      note: 'suggestion 6f1c1d9e-8a4b-4c1e-9a5e-3f2b7c9d0e1a: raters asked for clause numbers',
    });
    const after = await call('GET', '/v1/agents/legal/commands/review_contract', member);
    expect(after.json.version).toBe(1);
    expect((await call('GET', '/v1/agents/legal/commands/review_contract?label=draft', member)).json.version).toBe(2);
  });
});
