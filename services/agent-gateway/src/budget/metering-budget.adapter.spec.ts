import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceMetrics, type ServiceContext } from '@hishamos/platform';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { MeteringBudgetAdapter } from './metering-budget.adapter';

/** usage-metering answers per test: a status and body for reservations, a spend view per user. */
describe('MeteringBudgetAdapter', () => {
  let server: Server;
  let reservation: { status: number; body: unknown } = { status: 201, body: {} };
  let hardLimitUsers = new Set<string>();
  let adapter: MeteringBudgetAdapter;
  const warnings: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const spend = /\/internal\/v1\/spend\/users\/([^/?]+)/.exec(req.url ?? '');
        if (spend) {
          const hard = hardLimitUsers.has(decodeURIComponent(spend[1]));
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ day: {}, budgets: hard ? [{ hardUsd: '5.00' }] : [] }));
        }
        res.writeHead(reservation.status, { 'content-type': 'application/json' }).end(JSON.stringify(reservation.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ctx = {
      name: 'agent-gateway',
      config: { SERVICE_TOKEN: 't'.repeat(40) },
      settings: { BUDGET_TIMEOUT_MS: 500, BUDGET_FAIL_OPEN_MAX_AGE_SECONDS: 600 },
      urlOf: () => url,
      metrics: new ServiceMetrics('agent-gateway'),
      logger: { warn: (_o: unknown, m: string) => warnings.push(m), info: () => undefined, error: () => undefined },
    } as unknown as ServiceContext;
    adapter = new MeteringBudgetAdapter(ctx, new GatewayMetrics(ctx));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    reservation = { status: 201, body: { reservationId: 'res-1', granted: true, amountUsd: '0.25' } };
    hardLimitUsers = new Set();
  });

  const req = (userId: string) => ({
    requestId: `rq-${userId}-${Math.random()}`,
    userId,
    provider: 'openai',
    model: 'gpt',
    inputTokens: 10,
    maxOutputTokens: 100,
  });
  const settle = () => new Promise((r) => setTimeout(r, 100));

  it('returns the reservation metering granted', async () => {
    expect(await adapter.reserve(req('a'))).toEqual({ reservationId: 'res-1', amountUsd: '0.25', metered: true });
  });

  it('turns budget_exceeded into 429 with metering message and details', async () => {
    reservation = {
      status: 403,
      body: {
        error: {
          code: 'budget_exceeded',
          message: 'over budget: daily budget of user b is $5.00',
          details: { scope: 'user', limitUsd: '5.00' },
        },
      },
    };
    await expect(adapter.reserve(req('b'))).rejects.toMatchObject({
      status: 429,
      code: 'budget_exceeded',
      message: 'over budget: daily budget of user b is $5.00',
      extra: { details: { scope: 'user', limitUsd: '5.00' } },
    });
  });

  it('fails closed when metering cannot answer, unless a recent view shows no hard limit', async () => {
    hardLimitUsers.add('limited');
    await adapter.reserve(req('free'));
    await adapter.reserve(req('limited'));
    await settle();
    reservation = { status: 503, body: { error: { message: 'down' } } };
    expect(await adapter.reserve(req('free'))).toEqual({ amountUsd: '0', metered: false });
    await expect(adapter.reserve(req('limited'))).rejects.toMatchObject({ status: 503, code: 'budget_unavailable' });
    await expect(adapter.reserve(req('never-seen'))).rejects.toMatchObject({ status: 503, code: 'budget_unavailable' });
  });
});

/** With BUDGET_LEASES: the first call takes a lease, the next ones are granted from it with no request. */
describe('MeteringBudgetAdapter with budget leases', () => {
  let server: Server;
  const seen: string[] = [];
  let leaseAnswer: { granted: boolean; leaseId?: string; amountUsd?: string; expiresAt?: string; reason?: string };
  let adapter: MeteringBudgetAdapter;
  const price = { provider: 'openai', model: 'gpt', priced: true, inputPerMtokUsd: '1', outputPerMtokUsd: '2' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url?.replace(/[0-9a-f-]{36}/, ':id')} ${body}`);
        res.writeHead(req.url?.endsWith('/reservations') ? 201 : 200, { 'content-type': 'application/json' });
        if (req.url === '/internal/v1/leases') return res.end(JSON.stringify({ ...leaseAnswer, price }));
        if (req.url?.startsWith('/internal/v1/spend/')) return res.end(JSON.stringify({ day: {}, budgets: [] }));
        if (req.url?.endsWith('/reservations'))
          return res.end(JSON.stringify({ reservationId: 'per-call', granted: true, amountUsd: '0.0002' }));
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ctx = {
      name: 'agent-gateway',
      config: { SERVICE_TOKEN: 't'.repeat(40) },
      settings: {
        BUDGET_TIMEOUT_MS: 500,
        BUDGET_FAIL_OPEN_MAX_AGE_SECONDS: 600,
        BUDGET_LEASES: true,
        BUDGET_LEASE_CALLS: 50,
        BUDGET_LEASE_SECONDS: 30,
      },
      urlOf: () => url,
      metrics: new ServiceMetrics('agent-gateway'),
      logger: { warn: () => undefined, info: () => undefined, error: () => undefined },
    } as unknown as ServiceContext;
    adapter = new MeteringBudgetAdapter(ctx, new GatewayMetrics(ctx));
  });
  afterAll(async () => {
    await adapter.onModuleDestroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const req = (userId: string) => ({
    requestId: `rq-${Math.random()}`,
    userId,
    provider: 'openai',
    model: 'gpt',
    inputTokens: 100,
    maxOutputTokens: 50,
  });

  it('grants from a lease without a round trip, settles locally, and reserves per call when refused one', async () => {
    leaseAnswer = {
      granted: true,
      leaseId: '7b0e7c43-43f6-4c1e-9a39-64a3a53a9d0e',
      amountUsd: '0.01',
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    };
    const a = await adapter.reserve(req('u1'));
    const b = await adapter.reserve(req('u1'));
    // 100 in at $1/M + 50 out at $2/M = $0.0002 at worst.
    expect(a).toMatchObject({ amountUsd: '0.0002', metered: true });
    expect(a.reservationId).toMatch(/^7b0e7c43-43f6-4c1e-9a39-64a3a53a9d0e\/\d+$/);
    expect(b.reservationId).not.toBe(a.reservationId);
    adapter.usageRecorded(a.reservationId!, { inputTokens: 100, outputTokens: 10, cachedInputTokens: 0 });
    await adapter.release(b.reservationId!);
    const calls = seen.filter((s) => !s.startsWith('GET /internal/v1/spend'));
    expect(calls).toEqual([
      'POST /internal/v1/leases {"userId":"u1","provider":"openai","model":"gpt","inputTokens":100,"maxOutputTokens":50,"calls":50}',
    ]);

    seen.length = 0;
    leaseAnswer = { granted: false, reason: 'near_limit' };
    expect(await adapter.reserve(req('u2'))).toEqual({ reservationId: 'per-call', amountUsd: '0.0002', metered: true });
    expect(await adapter.reserve(req('u2'))).toEqual({ reservationId: 'per-call', amountUsd: '0.0002', metered: true });
    expect(
      seen.filter((s) => !s.startsWith('GET /internal/v1/spend')).map((s) => s.split(' ').slice(0, 2).join(' ')),
    ).toEqual(['POST /internal/v1/leases', 'POST /internal/v1/reservations', 'POST /internal/v1/reservations']);

    // Stopping gives the lease back with what its calls cost: $0.00012 (100 in, 10 out), the released call nothing.
    seen.length = 0;
    await adapter.onModuleDestroy();
    expect(seen).toEqual(['POST /internal/v1/leases/:id/close {"usedUsd":"0.00012"}']);
  });
});
