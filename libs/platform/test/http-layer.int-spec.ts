import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Body, Controller, Get, Injectable, Module, Post } from '@nestjs/common';
import { IsInt, IsString, Max, Min } from 'class-validator';
import {
  ApiError,
  AUTHENTICATOR,
  CurrentIdentity,
  loadConfig,
  Platform,
  PlatformConfig,
  Public,
  RequireRoles,
  ServiceOnly,
  serviceCredential,
  settingsOf,
  signIdentity,
  type Authenticator,
  type AuthRequest,
  type Identity,
  InternalHttpClient,
  type ServiceDefinition,
} from '@hishamos/platform';
import { IsOptional } from 'class-validator';

jest.setTimeout(60000);

class EchoDto {
  @IsString()
  name!: string;

  @IsInt()
  @Min(1)
  @Max(5)
  rating!: number;
}

class TestSettings {
  @IsOptional()
  @IsString()
  GREETING = 'hello';
}

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

@Controller('t')
class TestController {
  @Public()
  @Get('open')
  open() {
    return { ok: true };
  }

  @Get('me')
  me(@CurrentIdentity() id: Identity) {
    return id;
  }

  @RequireRoles('admin')
  @Get('admin')
  admin() {
    return { admin: true };
  }

  @ServiceOnly('orchestrator')
  @Get('internal')
  internal(@CurrentIdentity() id: Identity) {
    return id;
  }

  @Post('echo')
  echo(@Body() body: EchoDto) {
    return body;
  }

  @Get('boom')
  boom() {
    throw new Error('database password is hunter2');
  }
}

@Module({ controllers: [TestController], providers: [{ provide: AUTHENTICATOR, useClass: TestAuthenticator }] })
class TestModule {}

describe('platform HTTP layer: auth guard, roles, validation and error shape', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-http-'));
  let platform: Platform;
  let url: string;
  const token = 'x'.repeat(40);

  beforeAll(async () => {
    const config = loadConfig(PlatformConfig, { HISHAMOS_DATA_DIR: dataDir, LOG_LEVEL: 'error', SERVICE_TOKEN: token });
    const def: ServiceDefinition = {
      name: 'secrets',
      consumes: [],
      publishes: [],
      module: TestModule,
      settings: TestSettings,
    };
    platform = new Platform({ config, ports: { secrets: 0 }, env: { GREETING: 'salaam' } });
    await platform.start([def]);
    url = platform.services[0].url;
  });
  afterAll(async () => {
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });

  it('loads the service settings from the given environment', () => {
    expect(settingsOf<TestSettings>(platform.services[0].context).GREETING).toBe('salaam');
  });

  it('lets public routes through and asks everyone else for credentials', async () => {
    expect((await get('/t/open')).status).toBe(200);
    expect((await get('/health/live')).status).toBe(200);
    const res = await get('/t/me');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { status: 401, code: 'unauthorized' } });
    const bad = await get('/t/me', { authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe('invalid API key');
  });

  it('enforces roles', async () => {
    expect((await get('/t/admin', { authorization: 'Bearer admin-key' })).status).toBe(200);
    const res = await get('/t/admin', { authorization: 'Bearer member-key' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'forbidden_role' } });
  });

  it('accepts service credentials, with a person forwarded by the gateway, and limits service-only routes', async () => {
    const svc = { authorization: `Bearer ${serviceCredential(token, 'orchestrator')}` };
    expect(await (await get('/t/internal', svc)).json()).toMatchObject({ kind: 'service', subject: 'orchestrator' });
    const other = { authorization: `Bearer ${serviceCredential(token, 'alerting')}` };
    expect((await get('/t/internal', other)).status).toBe(403);
    expect((await get('/t/internal', { authorization: 'Bearer admin-key' })).status).toBe(403);
    const forged = { authorization: `Bearer ${serviceCredential('y'.repeat(40), 'orchestrator')}` };
    expect((await get('/t/internal', forged)).status).toBe(401);
    const person: Identity = { kind: 'user', subject: 'u-7', roles: ['admin'], via: 'api_key' };
    const fwd = await get('/t/admin', { ...svc, ...signIdentity(token, person) });
    expect(fwd.status).toBe(200);
    const client = new InternalHttpClient({ baseUrl: url, serviceToken: token, caller: 'orchestrator' });
    expect(await client.request('GET', '/t/me', { onBehalfOf: person })).toMatchObject({
      subject: 'u-7',
      via: 'forwarded',
    });
    const stale = signIdentity(token, person, Date.now() - 10 * 60_000);
    expect(await (await get('/t/me', { ...svc, ...stale })).json()).toMatchObject({ kind: 'service' });
  });

  it('answers bad input with the field and the reason', async () => {
    const post = (body: string) =>
      fetch(`${url}/t/echo`, {
        method: 'POST',
        headers: { authorization: 'Bearer member-key', 'content-type': 'application/json' },
        body,
      });
    const ok = await post(JSON.stringify({ name: 'a', rating: 3 }));
    expect(ok.status).toBe(201);
    const range = await post(JSON.stringify({ name: 'a', rating: 6 }));
    expect(range.status).toBe(400);
    expect(await range.json()).toMatchObject({ error: { code: 'validation_failed', field: 'rating' } });
    const extra = await post(JSON.stringify({ name: 'a', rating: 2, admin: true }));
    expect(extra.status).toBe(400);
    expect(await extra.json()).toMatchObject({ error: { field: 'admin' } });
    const malformed = await post('{"name": ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'malformed_json', field: 'body' } });
    const huge = await post(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), rating: 1 }));
    expect(huge.status).toBe(413);
  });

  it('hides internal errors', async () => {
    const res = await get('/t/boom', { authorization: 'Bearer member-key' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'internal_error' } });
  });
});
