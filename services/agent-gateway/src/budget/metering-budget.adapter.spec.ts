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
