import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { BudgetThreshold, BudgetThresholdCrossedSchema, Topics } from '@hishamos/contracts';
import { InternalHttpError, serviceCredential } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { fromPico, ManualClock, ReservationSweeper, toPico } from '../src';
import {
  admin,
  asPerson,
  gatewayBus,
  gatewayClient,
  newPrefix,
  readTopic,
  REPO,
  SERVICE_TOKEN,
  startMetering,
  usage,
  type MeteringEnv,
  type RunningMetering,
} from './fixtures/metering-fixture';
import type { EventBus } from '@hishamos/messaging';

jest.setTimeout(180000);

/** gpt-4o: $2.50 / $10.00 / $1.25 per million input / output / cached input tokens, in pico-dollars per token. */
const IN = 2_500_000n;
const OUT = 10_000_000n;
const CACHED = 1_250_000n;
const costOf = (input: number, output: number, cached = 0) =>
  BigInt(input - cached) * IN + BigInt(output) * OUT + BigInt(cached) * CACHED;

interface Granted {
  reservationId: string;
  granted: true;
  amountUsd: string;
  expiresAt: string;
}

function spawnChild(cfg: object): Promise<{ child: ChildProcess; result: Promise<string> }> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'fixtures', 'reserve-child.ts'), JSON.stringify(cfg)],
    {
      cwd: REPO,
      env: { ...process.env, SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'), NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const result = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(line.slice(7));
    });
    child.once('exit', (code) => code !== 0 && reject(new Error(`child exited ${code}: ${err}`)));
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve({ child, result }));
    child.once('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
  });
}

describe('reservations on Postgres and Kafka', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let env: MeteringEnv;
  let svc: RunningMetering;
  /** A second replica of the service on the same database (reservations from several processes). */
  let replica: RunningMetering;
  let bus: EventBus;
  const clock = new ManualClock(Date.now());
  const gw = () => gatewayClient(svc.url);
  const counter = async (userId: string) => {
    const rows = await svc.ctx.db.query<{ spent: string; reserved: string }>(
      `SELECT spent_usd::text AS spent, reserved_usd::text AS reserved FROM spend_counters
        WHERE scope = 'user' AND scope_id = $1 AND period = 'day'`,
      [userId],
    );
    return rows[0] ?? { spent: '0', reserved: '0' };
  };

  beforeAll(async () => {
    pg = await requirePostgresDatabase('meter_res');
    env = { adminUrl: pg.url, brokers: await requireKafka(), prefix: newPrefix() };
    svc = await startMetering(env, { clock, sweeper: false, settings: { RESERVATION_TTL_SECONDS: '60' } });
    replica = await startMetering(env, {
      clock,
      sweeper: false,
      // Small batches and one statement at a time: the replica batches all the time.
      settings: { RESERVATION_TTL_SECONDS: '60', RESERVATION_BATCH_MAX: '7', RESERVATION_BATCH_CONCURRENCY: '1' },
    });
    bus = await gatewayBus(env);
  });
  afterAll(async () => {
    await bus?.stop();
    await replica?.stop();
    await svc?.stop();
    await pg?.drop();
  });

  const setBudget = async (scopeId: string, hardUsd: string, softUsd?: string) => {
    const res = await asPerson(svc.url, admin, 'PUT', '/v1/budgets', {
      scope: 'user',
      scopeId,
      period: 'day',
      softUsd,
      hardUsd,
    });
    expect(res.status).toBe(200);
  };

  it('200 concurrent reservations from four processes to two replicas never grant more than the $1 left; settlement is exact', async () => {
    const user = 'u-race';
    await setBudget(user, '5.00', '4.50');
    // $4.00 already spent today: 1,600,000 input tokens of gpt-4o.
    await bus.publish(
      Topics.UsageRecorded,
      usage({
        userId: user,
        at: clock.now(),
        usage: { inputTokens: 1_600_000n, outputTokens: 0n, cachedInputTokens: 0n },
      }),
      { key: user },
    );
    await waitFor(async () => (await counter(user)).spent === '4.000000000000', {
      what: 'prior spend',
      timeoutMs: 30000,
    });

    let seed = 42;
    const rand = (lo: number, hi: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return lo + (seed % (hi - lo + 1));
    };
    const children = await Promise.all(
      [0, 1, 2, 3].map((p) =>
        spawnChild({
          url: p % 2 === 0 ? svc.url : replica.url,
          token: SERVICE_TOKEN,
          userId: user,
          requests: Array.from({ length: 50 }, (_, i) => ({
            requestId: `race-${p}-${i}`,
            inputTokens: rand(500, 3000),
            maxOutputTokens: rand(200, 1500),
          })),
        }),
      ),
    );
    for (const c of children) c.child.stdin!.end('go\n');
    const results = (await Promise.all(children.map((c) => c.result))).flatMap(
      (r) =>
        JSON.parse(r) as {
          requestId: string;
          status: number;
          body: Granted & { error?: { code: string; details: Record<string, string> } };
        }[],
    );
    expect(results).toHaveLength(200);
    const granted = results.filter((r) => r.status === 201);
    const denied = results.filter((r) => r.status !== 201);
    for (const d of denied) {
      expect(d.status).toBe(403);
      expect(d.body.error).toMatchObject({
        code: 'budget_exceeded',
        details: { scope: 'user', scopeId: user, period: 'day', limitUsd: '5.00' },
      });
    }
    const grantedTotal = granted.reduce((s, g) => s + toPico(g.body.amountUsd), 0n);
    const largest = results.reduce(
      (m, r) => (r.status === 201 && toPico(r.body.amountUsd) > m ? toPico(r.body.amountUsd) : m),
      0n,
    );
    expect(denied.length).toBeGreaterThan(0);
    expect(grantedTotal <= toPico('1.00')).toBe(true);
    // The budget was used, not refused wholesale: what is left is less than one more reservation.
    expect(grantedTotal > toPico('1.00') - largest - toPico('0.03')).toBe(true);
    expect(toPico((await counter(user)).reserved)).toBe(grantedTotal);

    // Settle most with actual usage (less than reserved), release a few: spend = $4 + actual, to the cent and beyond.
    let actual = 0n;
    const toRelease = granted.slice(0, 10);
    for (const g of toRelease) {
      expect(await gw().request('POST', `/internal/v1/reservations/${g.body.reservationId}/release`)).toEqual({
        reservationId: g.body.reservationId,
        status: 'released',
      });
    }
    for (const g of granted.slice(10)) {
      const input = rand(100, 3000);
      const cached = rand(0, Math.floor(input / 2));
      const output = rand(1, 1500);
      actual += costOf(input, output, cached);
      await bus.publish(
        Topics.UsageRecorded,
        usage({
          requestId: g.requestId,
          userId: user,
          reservationId: g.body.reservationId,
          at: clock.now(),
          usage: { inputTokens: BigInt(input), outputTokens: BigInt(output), cachedInputTokens: BigInt(cached) },
        }),
        { key: user },
      );
    }
    expect(new Set(results.map((r) => r.requestId)).size).toBe(200);
    await waitFor(async () => toPico((await counter(user)).reserved) === 0n, { what: 'all settled', timeoutMs: 60000 });
    const final = await counter(user);
    expect(toPico(final.spent)).toBe(toPico('4.00') + actual);
    const [sum] = await svc.ctx.db.query<{ n: string; total: string }>(
      `SELECT count(*)::text AS n, sum(cost)::text AS total FROM api_usage WHERE user_id = $1`,
      [user],
    );
    expect(Number(sum.n)).toBe(granted.length - 10 + 1);
    expect(toPico(sum.total)).toBe(toPico('4.00') + actual);
    const statuses = await svc.ctx.db.query<{ status: string; n: string }>(
      `SELECT status, count(*)::text AS n FROM reservations WHERE user_id = $1 GROUP BY status ORDER BY status`,
      [user],
    );
    expect(statuses).toEqual([
      { status: 'released', n: '10' },
      { status: 'settled', n: String(granted.length - 10) },
    ]);
    // The spend view agrees, in dollars and cents.
    const spend = await gw().request<{ day: { spentUsd: string; reservedUsd: string; hardUsd: string } }>(
      'GET',
      `/internal/v1/spend/users/${user}`,
    );
    expect(spend.day).toMatchObject({
      spentUsd: fromPico(toPico('4.00') + actual),
      reservedUsd: '0.00',
      hardUsd: '5.00',
    });
  });

  it('decides concurrent requests together as one at a time would: user and team limits, repeated request ids', async () => {
    // Three users of one team: $0.10 each per day, $0.20 for the team per month. Each request may cost
    // $0.0125 (1,000 input and 1,000 output tokens of gpt-4o), so a user gets 8 and the team 16.
    for (const u of ['u-b1', 'u-b2', 'u-b3']) await setBudget(u, '0.10');
    expect(
      (
        await asPerson(svc.url, admin, 'PUT', '/v1/budgets', {
          scope: 'team',
          scopeId: 'team-b',
          period: 'month',
          hardUsd: '0.20',
        })
      ).status,
    ).toBe(200);
    const ask = (base: string, userId: string, requestId: string) =>
      fetch(`${base}/internal/v1/reservations`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${serviceCredential(SERVICE_TOKEN, 'agent-gateway')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          requestId,
          userId,
          teamId: 'team-b',
          provider: 'openai',
          model: 'gpt-4o',
          inputTokens: 1000,
          maxOutputTokens: 1000,
        }),
      }).then(async (r) => ({
        requestId,
        userId,
        status: r.status,
        body: (await r.json()) as { reservationId?: string; error?: { details: { scopeId: string } } },
      }));
    // u-b1 and u-b2 ask 10 times each on the replica (batches of 7), u-b3 asks 10 times on the first
    // instance; the same request id is sent five times on each.
    const sent = [
      ...Array.from({ length: 10 }, (_, i) => ask(replica.url, 'u-b1', `b1-${i}`)),
      ...Array.from({ length: 10 }, (_, i) => ask(replica.url, 'u-b2', `b2-${i}`)),
      ...Array.from({ length: 10 }, (_, i) => ask(svc.url, 'u-b3', `b3-${i}`)),
      ...Array.from({ length: 5 }, () => ask(replica.url, 'u-b1', 'b1-same')),
      ...Array.from({ length: 5 }, () => ask(svc.url, 'u-b1', 'b1-same')),
    ];
    const results = await Promise.all(sent);
    const granted = results.filter((r) => r.status === 201);
    for (const d of results.filter((r) => r.status !== 201)) expect(d).toMatchObject({ status: 403 });
    // The repeated request id got one reservation, every time.
    const same = results.filter((r) => r.requestId === 'b1-same');
    const sameIds = new Set(same.filter((r) => r.status === 201).map((r) => r.body.reservationId));
    expect(sameIds.size).toBeLessThanOrEqual(1);
    const distinct = new Map(granted.map((r) => [r.requestId, r]));
    const perUser = (u: string) => [...distinct.values()].filter((r) => r.userId === u).length;
    for (const u of ['u-b1', 'u-b2', 'u-b3']) expect(perUser(u)).toBeLessThanOrEqual(8);
    // The team's limit is what binds: exactly 16 of the distinct requests were granted.
    expect(distinct.size).toBe(16);
    const reserved = async (scope: string, scopeId: string) =>
      (
        await svc.ctx.db.query<{ r: string }>(
          `SELECT coalesce(sum(reserved_usd), 0)::text AS r FROM spend_counters WHERE scope = $1 AND scope_id = $2`,
          [scope, scopeId],
        )
      )[0].r;
    expect(toPico(await reserved('team', 'team-b'))).toBe(toPico('0.20'));
    let users = 0n;
    for (const u of ['u-b1', 'u-b2', 'u-b3']) {
      const mine = toPico(await reserved('user', u));
      expect(mine).toBe(BigInt(perUser(u)) * toPico('0.0125'));
      users += mine;
    }
    expect(users).toBe(toPico('0.20'));
    const [rows] = await svc.ctx.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM reservations WHERE user_id IN ('u-b1', 'u-b2', 'u-b3') AND status = 'active'`,
    );
    expect(Number(rows.n)).toBe(16);
    // Refusals name the budget that binds (the team's month, or the user's day).
    for (const d of results.filter((r) => r.status === 403))
      expect(['team-b', 'u-b1', 'u-b2', 'u-b3']).toContain(d.body.error?.details.scopeId);
    const metrics = await (await fetch(`${replica.url}/metrics`)).text();
    const batched = /hishamos_budget_reservation_batch_size_bucket\{[^}]*le="1"[^}]*\} (\d+)/.exec(metrics);
    const all = /hishamos_budget_reservation_batch_size_count(?:\{[^}]*\})? (\d+)/.exec(metrics);
    expect(Number(all?.[1])).toBeGreaterThan(Number(batched?.[1])); // some statements decided several requests
  });

  it('is idempotent by request id, releases once, and expires reservations nobody settles', async () => {
    const user = 'u-idem';
    await setBudget(user, '1.00');
    const body = {
      requestId: 'idem-1',
      userId: user,
      provider: 'openai',
      model: 'gpt-4o',
      inputTokens: 1000,
      maxOutputTokens: 1000,
    };
    const a = await gw().request<Granted>('POST', '/internal/v1/reservations', { body });
    const b = await gw().request<Granted>('POST', '/internal/v1/reservations', { body });
    expect(a).toMatchObject({ granted: true, amountUsd: '0.0125' });
    expect(b).toEqual(a);
    expect((await counter(user)).reserved).toBe('0.012500000000');

    const rel = await gw().request('POST', `/internal/v1/reservations/${a.reservationId}/release`);
    expect(rel).toEqual({ reservationId: a.reservationId, status: 'released' });
    expect(await gw().request('POST', `/internal/v1/reservations/${a.reservationId}/release`)).toEqual({
      reservationId: a.reservationId,
      status: 'released',
    });
    expect((await counter(user)).reserved).toBe('0.000000000000');
    await expect(gw().request('POST', `/internal/v1/reservations/${randomUUID()}/release`)).rejects.toMatchObject({
      status: 404,
    });

    // Expiry: a gateway that crashed never settles; the sweeper frees the amount after the TTL (60 s here).
    const c = await gw().request<Granted>('POST', '/internal/v1/reservations', {
      body: { ...body, requestId: 'idem-2' },
    });
    expect(new Date(c.expiresAt).getTime()).toBe(clock.now().getTime() + 60_000);
    const sweeper = svc.platform.services[0].app.get(ReservationSweeper);
    await sweeper.tick();
    expect((await counter(user)).reserved).toBe('0.012500000000');
    clock.advance(61_000);
    await sweeper.tick();
    expect((await counter(user)).reserved).toBe('0.000000000000');
    // Usage arriving after expiry still counts, once, and frees nothing twice.
    await bus.publish(
      Topics.UsageRecorded,
      usage({ requestId: 'idem-2', userId: user, reservationId: c.reservationId, at: clock.now() }),
      { key: user },
    );
    await waitFor(async () => (await counter(user)).spent === '0.007500000000', {
      what: 'late usage',
      timeoutMs: 60000,
    });
    expect((await counter(user)).reserved).toBe('0.000000000000');
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/hishamos_budget_reservations_closed_total\{status="expired"[^}]*\} 1/);
    expect(metrics).toMatch(/hishamos_budget_reservations_total\{outcome="granted"[^}]*\} \d+/);
  });

  it('refuses unknown models under a hard limit, grants them at zero otherwise, and the offline model is free', async () => {
    await setBudget('u-hard', '1.00');
    const base = { userId: 'u-hard', provider: 'acme', model: 'mystery-1', inputTokens: 10, maxOutputTokens: 10 };
    const err = (await gw()
      .request('POST', '/internal/v1/reservations', { body: { ...base, requestId: 'unp-1' } })
      .catch((e: unknown) => e)) as InternalHttpError;
    expect(err.status).toBe(403);
    expect(err.body).toMatchObject({ error: { code: 'unpriced_model', field: 'model' } });
    const free = await gw().request<Granted>('POST', '/internal/v1/reservations', {
      body: { ...base, requestId: 'unp-2', userId: 'u-nobudget' },
    });
    expect(free).toMatchObject({ granted: true, amountUsd: '0.00' });
    const offline = await gw().request<Granted>('POST', '/internal/v1/reservations', {
      body: { ...base, requestId: 'off-1', provider: 'offline', model: 'offline', maxOutputTokens: 100000 },
    });
    expect(offline).toMatchObject({ granted: true, amountUsd: '0.00' });
  });

  it('answers bad reservation requests with the field, and only to the gateway', async () => {
    const bad = (await gw()
      .request('POST', '/internal/v1/reservations', {
        body: { requestId: 'x', userId: 'u', provider: 'openai', model: 'gpt-4o', inputTokens: -1, maxOutputTokens: 1 },
      })
      .catch((e: unknown) => e)) as InternalHttpError;
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'validation_failed', field: 'inputTokens' } });
    const other = await fetch(`${svc.url}/internal/v1/spend/users/u-1`, {
      headers: { authorization: `Bearer ${serviceCredential(SERVICE_TOKEN, 'alerting')}` },
    });
    expect(other.status).toBe(403);
  });

  it('publishes the hard-limit event once when requests are refused', async () => {
    const user = 'u-refused';
    await setBudget(user, '0.01');
    for (const n of [1, 2, 3]) {
      const e = (await gw()
        .request('POST', '/internal/v1/reservations', {
          body: {
            requestId: `ref-${n}`,
            userId: user,
            provider: 'openai',
            model: 'gpt-4o',
            inputTokens: 1000,
            maxOutputTokens: 1000,
          },
        })
        .catch((x: unknown) => x)) as InternalHttpError;
      expect(e.status).toBe(403);
      expect((e.body as { error: { message: string } }).error.message).toContain(`the daily budget of user ${user}`);
    }
    const events = await readTopic(env, Topics.BudgetThresholdCrossed, (got) =>
      got.some((m) => fromBinary(BudgetThresholdCrossedSchema, m.value).scopeId === user),
    );
    const mine = events.map((m) => fromBinary(BudgetThresholdCrossedSchema, m.value)).filter((e) => e.scopeId === user);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      threshold: BudgetThreshold.HARD,
      limitUsd: '0.01',
      periodStart: expect.any(String),
      reason: 'denied',
      timeZone: 'UTC',
    });
  });
});
