import { randomUUID } from 'node:crypto';
import { Topics } from '@hishamos/contracts';
import type { EventBus } from '@hishamos/messaging';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { fromPico, ManualClock, ReservationSweeper, toPico } from '../src';
import {
  admin,
  asPerson,
  gatewayBus,
  gatewayClient,
  newPrefix,
  startMetering,
  usage,
  type MeteringEnv,
  type RunningMetering,
} from './fixtures/metering-fixture';

jest.setTimeout(180000);

type Lease =
  | {
      granted: true;
      leaseId: string;
      amountUsd: string;
      expiresAt: string;
      limited: boolean;
      price: Record<string, unknown>;
    }
  | { granted: false; reason: string; price: Record<string, unknown> };

/** gpt-4o at 1,000 input and 1,000 output tokens: $0.0125 at worst. */
const CALL = { provider: 'openai', model: 'gpt-4o', inputTokens: 1000, maxOutputTokens: 1000 };

describe('budget leases on Postgres and Kafka', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let env: MeteringEnv;
  let svc: RunningMetering;
  let replica: RunningMetering;
  let bus: EventBus;
  const clock = new ManualClock(Date.now());
  const gw = (s: RunningMetering = svc) => gatewayClient(s.url);
  const counter = async (scope: string, scopeId: string) => {
    const rows = await svc.ctx.db.query<{ spent: string; reserved: string }>(
      `SELECT spent_usd::text AS spent, reserved_usd::text AS reserved FROM spend_counters
        WHERE scope = $1 AND scope_id = $2 AND period = 'day'`,
      [scope, scopeId],
    );
    return rows[0] ?? { spent: '0', reserved: '0' };
  };
  const lease = (userId: string, calls: number, s?: RunningMetering, call: object = CALL) =>
    gw(s).request<Lease>('POST', '/internal/v1/leases', { body: { userId, calls, ...call } });
  const setBudget = async (scope: 'user' | 'global', scopeId: string, hardUsd: string) => {
    const res = await asPerson(svc.url, admin, 'PUT', '/v1/budgets', { scope, scopeId, period: 'day', hardUsd });
    expect(res.status).toBe(200);
  };
  const spend = async (userId: string, inputTokens: bigint) => {
    await bus.publish(
      Topics.UsageRecorded,
      usage({ userId, at: clock.now(), usage: { inputTokens, outputTokens: 0n, cachedInputTokens: 0n } }),
      { key: userId },
    );
  };

  beforeAll(async () => {
    pg = await requirePostgresDatabase('meter_lease');
    env = { adminUrl: pg.url, brokers: await requireKafka(), prefix: newPrefix() };
    const settings = {
      RESERVATION_TTL_SECONDS: '60',
      BUDGET_LEASE_HEADROOM_SHARE: '20',
      BUDGET_LEASE_USER_HEADROOM_SHARE: '4',
    };
    svc = await startMetering(env, { clock, sweeper: false, settings });
    replica = await startMetering(env, { clock, sweeper: false, settings });
    bus = await gatewayBus(env);
  });
  afterAll(async () => {
    await bus?.stop();
    await replica?.stop();
    await svc?.stop();
    await pg?.drop();
  });

  it('holds a slice of the headroom, shrinks as usage settles against it, closes to what was used and expires', async () => {
    const user = 'u-lease';
    await setBudget('user', user, '1.00');
    const a = await lease(user, 100);
    // 100 calls would be $1.25; 1/4 of the user's $1.00 headroom is $0.25.
    expect(a).toMatchObject({
      granted: true,
      amountUsd: '0.25',
      limited: true,
      price: { provider: 'openai', model: 'gpt-4o', priced: true, inputPerMtokUsd: '2.5', outputPerMtokUsd: '10' },
    });
    if (!a.granted) throw new Error('not granted');
    expect(new Date(a.expiresAt).getTime()).toBe(clock.now().getTime() + 60_000);
    expect(await counter('user', user)).toEqual({ spent: '0.000000000000', reserved: '0.250000000000' });

    // Three calls granted from the lease report their usage ($0.0075 each): the hold shrinks by their cost.
    for (let i = 0; i < 3; i++)
      await bus.publish(
        Topics.UsageRecorded,
        usage({ requestId: `lease-call-${i}`, userId: user, reservationId: a.leaseId, at: clock.now() }),
        { key: user },
      );
    await waitFor(async () => (await counter('user', user)).spent === '0.022500000000', {
      what: 'usage settled against the lease',
      timeoutMs: 60000,
    });
    expect((await counter('user', user)).reserved).toBe('0.227500000000');

    // The gateway gives it back: 3 calls done and one still running ($0.0075 when it ends).
    const closed = await gw().request('POST', `/internal/v1/leases/${a.leaseId}/close`, { body: { usedUsd: '0.03' } });
    expect(closed).toEqual({ leaseId: a.leaseId, amountUsd: '0.03', releasedUsd: '0.22' });
    expect((await counter('user', user)).reserved).toBe('0.007500000000');
    await bus.publish(
      Topics.UsageRecorded,
      usage({ requestId: 'lease-call-3', userId: user, reservationId: a.leaseId, at: clock.now() }),
      { key: user },
    );
    await waitFor(async () => (await counter('user', user)).spent === '0.030000000000', {
      what: 'the last call settled',
      timeoutMs: 60000,
    });
    expect((await counter('user', user)).reserved).toBe('0.000000000000');
    // Closing again (or asking for more back) never grows it and frees nothing twice.
    expect(
      await gw().request('POST', `/internal/v1/leases/${a.leaseId}/close`, { body: { usedUsd: '0.5' } }),
    ).toMatchObject({ amountUsd: '0.03', releasedUsd: '0.00' });
    // A usage record beyond the lease's amount counts as spend and frees nothing it did not hold.
    await bus.publish(
      Topics.UsageRecorded,
      usage({ requestId: 'lease-call-4', userId: user, reservationId: a.leaseId, at: clock.now() }),
      { key: user },
    );
    await waitFor(async () => (await counter('user', user)).spent === '0.037500000000', {
      what: 'a record beyond the lease',
      timeoutMs: 60000,
    });
    expect((await counter('user', user)).reserved).toBe('0.000000000000');

    // A crashed gateway's lease is never closed: the sweeper frees what it still holds after the TTL.
    const b = await lease(user, 1);
    if (!b.granted) throw new Error('not granted');
    expect(b.amountUsd).toBe('0.0125');
    await bus.publish(
      Topics.UsageRecorded,
      usage({ requestId: 'lease-call-5', userId: user, reservationId: b.leaseId, at: clock.now() }),
      { key: user },
    );
    await waitFor(async () => (await counter('user', user)).spent === '0.045000000000', {
      what: 'usage on the second lease',
      timeoutMs: 60000,
    });
    expect((await counter('user', user)).reserved).toBe('0.005000000000');
    const sweeper = svc.platform.services[0].app.get(ReservationSweeper);
    clock.advance(61_000);
    await sweeper.tick();
    expect((await counter('user', user)).reserved).toBe('0.000000000000');
    const rows = await svc.ctx.db.query<{ kind: string; status: string; consumed: string; actual: string }>(
      `SELECT kind, status, consumed_usd::text AS consumed, actual_cost_usd::text AS actual FROM reservations
        WHERE user_id = $1 ORDER BY consumed_usd DESC`,
      [user],
    );
    expect(rows).toEqual([
      { kind: 'lease', status: 'expired', consumed: '0.037500000000', actual: '0.037500000000' },
      { kind: 'lease', status: 'expired', consumed: '0.007500000000', actual: '0.007500000000' },
    ]);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/hishamos_budget_leases_total\{outcome="granted"[^}]*\} 2/);
  });

  it('grants in full without a hard limit, refuses near a limit and for unknown models, and reports prices', async () => {
    const free = await lease('u-free', 100);
    expect(free).toMatchObject({ granted: true, amountUsd: '1.25', limited: false });
    expect(toPico((await counter('user', 'u-free')).reserved)).toBe(0n);

    // $0.99 of $1.00 spent: 1/4 of the $0.01 left is less than one call.
    await setBudget('user', 'u-near', '1.00');
    await spend('u-near', 396_000n);
    await waitFor(async () => (await counter('user', 'u-near')).spent === '0.990000000000', {
      what: 'prior spend',
      timeoutMs: 60000,
    });
    expect(await lease('u-near', 10)).toMatchObject({ granted: false, reason: 'near_limit' });
    expect((await counter('user', 'u-near')).reserved).toBe('0.000000000000');

    expect(await lease('u-free', 10, svc, { ...CALL, provider: 'acme', model: 'mystery' })).toEqual({
      granted: false,
      reason: 'unpriced',
      price: { provider: 'acme', model: 'mystery', priced: false },
    });
    expect(
      await gw().request('GET', '/internal/v1/prices/current?provider=anthropic&model=claude-sonnet-4-5'),
    ).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5', priced: true });
  });

  it('answers bad lease requests with the field and reason, and only to the gateway', async () => {
    await expect(lease('u-bad', 0)).rejects.toMatchObject({ status: 400 });
    await expect(
      gw().request('POST', '/internal/v1/leases', { body: { ...CALL, userId: 'u-bad', calls: 1, inputTokens: -1 } }),
    ).rejects.toMatchObject({ status: 400, body: { error: { details: expect.anything() } } });
    await expect(
      gw().request('POST', `/internal/v1/leases/${randomUUID()}/close`, { body: { usedUsd: '-1' } }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      gw().request('POST', `/internal/v1/leases/${randomUUID()}/close`, { body: { usedUsd: '1' } }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      gw().request('POST', '/internal/v1/leases/nope/close', { body: { usedUsd: '1' } }),
    ).rejects.toMatchObject({ status: 400 });
    const person = await asPerson(svc.url, admin, 'POST', '/internal/v1/leases', {
      userId: 'u-bad',
      calls: 1,
      ...CALL,
    });
    expect(person.status).toBe(403);
  });

  it('100 concurrent leases from two replicas never hold more than a shared global limit leaves', async () => {
    // A global daily limit shared by 100 users with no limits of their own, $1.00 left of it.
    const start = await counter('global', '');
    const limit = fromPico(toPico(start.spent) + toPico(start.reserved) + toPico('1.00'));
    await setBudget('global', '', limit);
    const headroom = toPico('1.00');
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => lease(`u-many-${i}`, 50, i % 2 ? replica : svc)),
    );
    const granted = answers.filter((a): a is Extract<Lease, { granted: true }> => a.granted);
    const total = granted.reduce((s, a) => s + toPico(a.amountUsd), 0n);
    expect(granted.length).toBeGreaterThan(0);
    expect(total <= headroom).toBe(true);
    // Each took at most 1/20 of what was left when it was decided.
    for (const a of granted) expect(toPico(a.amountUsd) * 20n <= headroom).toBe(true);
    expect(toPico((await counter('global', '')).reserved) - toPico(start.reserved)).toBe(total);
    for (const a of answers.filter((x) => !x.granted)) expect(a).toMatchObject({ reason: 'near_limit' });
  });
});
