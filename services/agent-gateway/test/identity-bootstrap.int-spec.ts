import { rmSync } from 'node:fs';
import { startGateway, type Gateway } from './identity-harness';

jest.setTimeout(120_000);

describe('first start: the bootstrap admin', () => {
  const printed: string[] = [];
  let spy: jest.SpyInstance;
  let gw: Gateway | undefined;

  beforeEach(() => {
    printed.length = 0;
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
  });
  afterEach(() => spy.mockRestore());
  afterAll(async () => {
    if (gw) rmSync(gw.dataDir, { recursive: true, force: true });
  });

  it('generates an admin key when HISHAMOS_BOOTSTRAP_API_KEY is unset, prints it once to stdout, and never again', async () => {
    gw = await startGateway({
      env: { HISHAMOS_BOOTSTRAP_API_KEY: '', HISHAMOS_BOOTSTRAP_ADMIN_EMAIL: 'root@corp.example' },
    });
    const banner = printed.join('');
    const match = /(hos_[a-z0-9]{8}_[A-Za-z0-9]{43})/.exec(banner);
    expect(match).not.toBeNull();
    const key = match![1];
    expect(banner).toContain('root@corp.example');
    expect(banner).toContain('shown this once');
    const me = await gw.fetch('/v1/me', { key });
    expect(me.json).toMatchObject({ identity: { roles: ['admin'] }, user: { email: 'root@corp.example' } });
    // the logger never carries the key (the banner bypasses it; the logger masks it)
    expect(gw.logs.join('\n')).not.toContain(key);
    expect(gw.logs.join('\n')).toContain('bootstrap admin created');
    const audit = await gw.fetch('/v1/audit-logs?actor=system:bootstrap', { key });
    expect((audit.json.data as { action: string }[]).map((r) => r.action).sort()).toEqual([
      'api_key.created',
      'user.created',
    ]);
    await gw.stop({ keepData: true });

    // a restart on the same data: no new admin, nothing printed, the key still works (pepper kept)
    printed.length = 0;
    gw = await startGateway({ dataDir: gw.dataDir, env: { HISHAMOS_BOOTSTRAP_API_KEY: '' } });
    expect(printed.join('')).not.toMatch(/hos_/);
    expect((await gw.fetch('/v1/me', { key })).status).toBe(200);
    const users = await gw.fetch('/v1/users', { key });
    expect((users.json.data as unknown[]).length).toBe(1);
    await gw.stop({ keepData: true });
  });

  it('takes the key from HISHAMOS_BOOTSTRAP_API_KEY and prints nothing', async () => {
    const key = `hos_boot2345_${'Qw9'.repeat(14)}x`;
    const other = await startGateway({
      env: { HISHAMOS_BOOTSTRAP_API_KEY: key, HISHAMOS_BOOTSTRAP_ADMIN_PASSWORD: 'first start password' },
    });
    try {
      expect(printed.join('')).not.toMatch(/hos_/);
      expect((await other.fetch('/v1/me', { key })).json).toMatchObject({ identity: { roles: ['admin'] } });
      const login = await other.fetch('/v1/auth/login', {
        body: { email: 'admin@hishamos.local', password: 'first start password' },
      });
      expect(login.status).toBe(200);
      expect(other.logs.join('\n')).not.toContain(key);
    } finally {
      await other.stop();
    }
  });

  it('refuses to start with a malformed HISHAMOS_BOOTSTRAP_API_KEY, naming the variable', async () => {
    await expect(startGateway({ env: { HISHAMOS_BOOTSTRAP_API_KEY: 'sk-not-a-hishamos-key' } })).rejects.toThrow(
      /HISHAMOS_BOOTSTRAP_API_KEY must look like hos_/,
    );
  });
});
