import { randomBytes } from 'node:crypto';
import {
  PROVIDER_CONFIGS,
  SECRET_STORE,
  type ProviderConfigPort,
  type SecretStorePort,
} from '../src/ports/gateway-ports';
import { SsrfPolicy } from '../src/platform-config/ssrf/ssrf-policy.service';
import { BOOTSTRAP_KEY, FakeSecrets, listen, startGateway, type Gateway, type Json } from './identity-harness';

jest.setTimeout(120_000);

const OPENAI_KEY = 'sk-test-openai-0123456789abcdefWXYZ';
const ANTHROPIC_KEY = 'sk-ant-test-9876543210zyxwvuABCD';

describe('Platform Configuration API: providers, keys in the secrets service, Test Connection, SSRF', () => {
  let gw: Gateway;
  let secrets: FakeSecrets;
  let provider: Awaited<ReturnType<typeof listen>>;
  const admin = BOOTSTRAP_KEY;
  const seenByProvider: { path: string; authorization?: string; apiKey?: string }[] = [];

  beforeAll(async () => {
    const token = randomBytes(32).toString('base64url');
    secrets = new FakeSecrets(token);
    await secrets.start();
    // a fake provider speaking the OpenAI and Anthropic model-list formats
    provider = await listen((req, res) => {
      seenByProvider.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        apiKey: req.headers['x-api-key'] as string | undefined,
      });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/v1/models') {
        if (req.headers.authorization !== `Bearer ${OPENAI_KEY}`)
          return json(401, {
            error: { message: 'Incorrect API key provided: sk-test-op***WXYZ', type: 'invalid_request_error' },
          });
        return json(200, { object: 'list', data: [{ id: 'gpt-4o' }, { id: 'gpt-4o-mini' }] });
      }
      if (req.url === '/anthropic/v1/models') {
        if (req.headers['x-api-key'] !== ANTHROPIC_KEY || !req.headers['anthropic-version'])
          return json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
        return json(200, { data: [{ id: 'claude-sonnet-4-5', type: 'model' }] });
      }
      json(404, { error: { message: 'not found' } });
    });
    gw = await startGateway({ serviceToken: token, platform: { SECRETS_URL: secrets.url } });
    const allow = await gw.fetch('/v1/providers/allowed-hosts', {
      key: admin,
      body: { host: '127.0.0.1', note: 'test provider' },
    });
    expect(allow.status).toBe(201);
  });

  afterAll(async () => {
    await gw.stop();
    await secrets.close();
    await provider.close();
  });

  it('creates a provider: the key goes to the secrets service at ai/platforms/<id>, never back out', async () => {
    const res = await gw.fetch('/v1/providers', {
      key: admin,
      body: {
        id: 'local-openai',
        kind: 'openai-compatible',
        name: 'Local',
        baseUrl: `${provider.url}/v1/`,
        defaultModel: 'gpt-4o',
        apiKey: OPENAI_KEY,
      },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      id: 'local-openai',
      baseUrl: `${provider.url}/v1`,
      apiKeySet: true,
      apiKeyHint: '…WXYZ',
      defaultModel: 'gpt-4o',
      enabled: true,
    });
    expect(res.text).not.toContain(OPENAI_KEY);
    expect(secrets.latest('ai/platforms/local-openai')).toBe(OPENAI_KEY);
    expect(secrets.calls.find((c) => c.method === 'PUT')?.caller).toBe('agent-gateway');
    // stored nowhere in the gateway's schema
    const dump = await gw.service.context.db.query(`SELECT * FROM provider_configs`);
    expect(JSON.stringify(dump)).not.toContain(OPENAI_KEY);
    // PROVIDER_CONFIGS sees it (with the secret's path, not the value)
    const port = gw.service.app.get<ProviderConfigPort>(PROVIDER_CONFIGS, { strict: false });
    expect(await port.get('local-openai')).toMatchObject({
      kind: 'openai-compatible',
      apiKeyPath: 'ai/platforms/local-openai',
    });
    const list = await gw.fetch('/v1/providers', { key: admin });
    expect(list.text).not.toContain(OPENAI_KEY);
    expect((list.json.data as Json[]).map((p) => p.id)).toContain('local-openai');
  });

  it('tests the connection with the key and reports success or the provider error', async () => {
    const ok = await gw.fetch('/v1/providers/local-openai/test', { key: admin, method: 'POST' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ ok: true, status: 200, modelCount: 2, models: ['gpt-4o', 'gpt-4o-mini'] });
    expect(seenByProvider[seenByProvider.length - 1]).toMatchObject({
      path: '/v1/models',
      authorization: `Bearer ${OPENAI_KEY}`,
    });

    await gw.fetch('/v1/providers', {
      key: admin,
      body: {
        id: 'claude',
        kind: 'anthropic',
        name: 'Claude',
        baseUrl: `${provider.url}/anthropic`,
        apiKey: ANTHROPIC_KEY,
      },
    });
    const claude = await gw.fetch('/v1/providers/claude/test', { key: admin, method: 'POST' });
    expect(claude.json).toMatchObject({ ok: true, models: ['claude-sonnet-4-5'] });
    expect(seenByProvider[seenByProvider.length - 1]).toMatchObject({
      path: '/anthropic/v1/models',
      apiKey: ANTHROPIC_KEY,
    });

    // a wrong key: the provider's own message, with no key in it
    const rotated = await gw.fetch('/v1/providers/local-openai', {
      method: 'PATCH',
      key: admin,
      body: { apiKey: 'sk-wrong-key-000000000000000000' },
    });
    expect(rotated.json).toMatchObject({ apiKeySet: true, apiKeyHint: '…0000' });
    expect(secrets.calls.some((c) => c.method === 'POST' && c.path === '/internal/v1/secrets/rotate')).toBe(true);
    const bad = await gw.fetch('/v1/providers/local-openai/test', { key: admin, method: 'POST' });
    expect(bad.json).toMatchObject({ ok: false, status: 401, error: 'Incorrect API key provided: sk-test-op***WXYZ' });
    const shown = await gw.fetch('/v1/providers/local-openai', { key: admin });
    expect(shown.json).toMatchObject({ lastTest: { ok: false } });
    await gw.fetch('/v1/providers/local-openai', { method: 'PATCH', key: admin, body: { apiKey: OPENAI_KEY } });
    expect((await gw.fetch('/v1/providers/local-openai/test', { key: admin, method: 'POST' })).json).toMatchObject({
      ok: true,
    });

    const offline = await gw.fetch('/v1/providers', {
      key: admin,
      body: { id: 'offline', kind: 'offline', name: 'Offline' },
    });
    expect(offline.status).toBe(201);
    expect((await gw.fetch('/v1/providers/offline/test', { key: admin, method: 'POST' })).json).toMatchObject({
      ok: true,
    });
  });

  it('drops a cached key on invalidate (SecretRotated) and reads the new version', async () => {
    const store = gw.service.app.get<SecretStorePort>(SECRET_STORE, { strict: false });
    expect(await store.get('ai/platforms/claude')).toBe(ANTHROPIC_KEY);
    // rotated behind the gateway's back: the cache still answers the old key until invalidated
    secrets.values.get('ai/platforms/claude')!.push({ value: 'sk-ant-rotated-1111111111111111', version: 2 });
    expect(await store.get('ai/platforms/claude')).toBe(ANTHROPIC_KEY);
    const inFlight = store.get('ai/platforms/claude');
    store.invalidate('ai/platforms/claude');
    expect(await inFlight).toBe(ANTHROPIC_KEY);
    expect(await store.get('ai/platforms/claude')).toBe('sk-ant-rotated-1111111111111111');
  });

  it('never logs a provider key (captured logs grepped)', async () => {
    const all = gw.logs.join('\n');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [
      OPENAI_KEY,
      ANTHROPIC_KEY,
      'sk-wrong-key-000000000000000000',
      'sk-ant-rotated-1111111111111111',
    ])
      expect(all).not.toContain(secret);
    const audit = await gw.fetch('/v1/audit-logs?resourceType=provider', { key: admin });
    expect(audit.text).not.toContain(OPENAI_KEY);
    expect((audit.json.data as Json[]).map((r) => r.action)).toEqual(
      expect.arrayContaining(['provider.created', 'provider.updated']),
    );
  });

  it('blocks base URLs in loopback, link-local, private, CGNAT, ULA and metadata ranges', async () => {
    const blocked: [string, RegExp][] = [
      ['https://127.0.0.2/v1', /loopback/],
      ['https://[::1]/v1', /loopback/],
      ['https://169.254.169.254/latest', /metadata/],
      ['https://169.254.10.1/v1', /link-local/],
      ['https://[fe80::1]/v1', /link-local/],
      ['https://10.1.2.3/v1', /private/],
      ['https://172.20.0.5/v1', /private/],
      ['https://192.168.1.10/v1', /private/],
      ['https://100.64.0.1/v1', /carrier-grade NAT/],
      ['https://[fd12:3456::1]/v1', /unique local/],
      ['https://[::ffff:10.0.0.1]/v1', /private/],
      ['https://0.0.0.0/v1', /unspecified/],
      ['https://2130706434/v1', /loopback/],
      ['https://localhost:8443/v1', /loopback/],
      ['http://api.example.com/v1', /plain http/],
      ['https://user:pw@api.example.com/v1', /credentials/],
      ['ftp://api.example.com/', /http/],
    ];
    for (const [baseUrl, reason] of blocked) {
      const res = await gw.fetch('/v1/providers', {
        key: admin,
        body: { id: 'evil', kind: 'openai-compatible', name: 'Evil', baseUrl, apiKey: 'sk-evil-000000000000000' },
      });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: { field: 'baseUrl' } });
      expect((res.json.error as { message: string }).message).toMatch(reason);
    }
    // nothing was written, not even the key
    expect(secrets.latest('ai/platforms/evil')).toBeUndefined();
  });

  it('checks the addresses a name resolves to, and honours the admin allow-list', async () => {
    const ssrf = gw.service.app.get(SsrfPolicy, { strict: false });
    const original = ssrf.resolver;
    ssrf.resolver = async (host) =>
      host === 'internal.example.com'
        ? [{ address: '10.0.0.7', family: 4 }]
        : host === 'mixed.example.com'
          ? [
              { address: '93.184.216.34', family: 4 },
              { address: 'fd00:ec2::254', family: 6 },
            ]
          : [{ address: '93.184.216.34', family: 4 }];
    try {
      const internal = await gw.fetch('/v1/providers', {
        key: admin,
        body: { id: 'vllm', kind: 'openai-compatible', name: 'vLLM', baseUrl: 'https://internal.example.com/v1' },
      });
      expect(internal.status).toBe(400);
      expect((internal.json.error as { message: string }).message).toMatch(/resolves to 10\.0\.0\.7, a private/);
      const mixed = await gw.fetch('/v1/providers', {
        key: admin,
        body: { id: 'vllm', kind: 'openai-compatible', name: 'vLLM', baseUrl: 'https://mixed.example.com/v1' },
      });
      expect((mixed.json.error as { message: string }).message).toMatch(/metadata/);
      const pub = await gw.fetch('/v1/providers', {
        key: admin,
        body: { id: 'public-one', kind: 'openai-compatible', name: 'Public', baseUrl: 'https://llm.example.com/v1' },
      });
      expect(pub.status).toBe(201);
      // an admin allows the internal host explicitly
      expect(
        (await gw.fetch('/v1/providers/allowed-hosts', { key: admin, body: { host: 'Internal.Example.com' } })).status,
      ).toBe(201);
      const allowed = await gw.fetch('/v1/providers', {
        key: admin,
        body: { id: 'vllm', kind: 'openai-compatible', name: 'vLLM', baseUrl: 'https://internal.example.com/v1' },
      });
      expect(allowed.status).toBe(201);
      const hosts = await gw.fetch('/v1/providers/allowed-hosts', { key: admin });
      expect((hosts.json.data as Json[]).map((h) => h.host)).toEqual(['127.0.0.1', 'internal.example.com']);
      expect(
        (await gw.fetch('/v1/providers/allowed-hosts/internal.example.com', { method: 'DELETE', key: admin })).status,
      ).toBe(200);
      const again = await gw.fetch('/v1/providers/vllm', {
        method: 'PATCH',
        key: admin,
        body: { baseUrl: 'https://internal.example.com/v2' },
      });
      expect(again.status).toBe(400);
      const audit = await gw.fetch('/v1/audit-logs?resourceType=allowed_host', { key: admin });
      expect((audit.json.data as Json[]).map((r) => r.action)).toEqual([
        'provider.allowed_host_removed',
        'provider.allowed_host_added',
        'provider.allowed_host_added',
      ]);
    } finally {
      ssrf.resolver = original;
    }
  });

  it('re-checks the address at connection time (Test Connection after the allow-list changed)', async () => {
    expect((await gw.fetch('/v1/providers/allowed-hosts/127.0.0.1', { method: 'DELETE', key: admin })).status).toBe(
      200,
    );
    const res = await gw.fetch('/v1/providers/local-openai/test', { key: admin, method: 'POST' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'blocked_base_url' } });
    await gw.fetch('/v1/providers/allowed-hosts', { key: admin, body: { host: '127.0.0.1' } });
  });

  it('validates input and fails clearly when the secrets service is down', async () => {
    const cases: [Json, string][] = [
      [{ id: 'Bad Id', kind: 'openai', name: 'x' }, 'id'],
      [{ id: 'p1', kind: 'cohere', name: 'x' }, 'kind'],
      [{ id: 'p1', kind: 'openai-compatible', name: 'x' }, 'baseUrl'],
      [{ id: 'p1', kind: 'openai', name: 'x', options: { apiKey: 'sk-in-options' } }, 'options.apiKey'],
      [{ id: 'p1', kind: 'openai', name: 'x', priority: -1 }, 'priority'],
      [{ id: 'allowed-hosts', kind: 'openai', name: 'x' }, 'id'],
    ];
    for (const [body, field] of cases) {
      const res = await gw.fetch('/v1/providers', { key: admin, body });
      expect(res.status).toBe(400);
      expect((res.json.error as { field: string }).field).toBe(field);
    }
    expect(
      (await gw.fetch('/v1/providers', { key: admin, body: { id: 'claude', kind: 'anthropic', name: 'dup' } })).status,
    ).toBe(409);
    expect((await gw.fetch('/v1/providers/allowed-hosts', { key: admin, body: { host: 'http://x/y' } })).status).toBe(
      400,
    );

    secrets.failing = true;
    try {
      const res = await gw.fetch('/v1/providers', {
        key: admin,
        body: { id: 'down', kind: 'openai', name: 'Down', apiKey: 'sk-never-stored-00000000000' },
      });
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ error: { code: 'secrets_unavailable', field: 'apiKey' } });
      expect(res.text).not.toContain('sk-never-stored');
      expect((await gw.fetch('/v1/providers/down', { key: admin })).status).toBe(404);
    } finally {
      secrets.failing = false;
    }
  });

  it('deletes a provider and its key', async () => {
    const res = await gw.fetch('/v1/providers/claude', { method: 'DELETE', key: admin });
    expect(res.status).toBe(200);
    expect(secrets.latest('ai/platforms/claude')).toBeUndefined();
    expect((await gw.fetch('/v1/providers/claude', { key: admin })).status).toBe(404);
    const port = gw.service.app.get<ProviderConfigPort>(PROVIDER_CONFIGS, { strict: false });
    expect(await port.get('claude')).toBeUndefined();
  });
});
