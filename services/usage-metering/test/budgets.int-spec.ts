import { fromBinary } from '@bufbuild/protobuf';
import { BudgetPeriod, BudgetScope, BudgetThreshold, BudgetThresholdCrossedSchema, Topics } from '@hishamos/contracts';
import type { EventBus } from '@hishamos/messaging';
import { InternalHttpError } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { ManualClock } from '../src';
import {
  admin,
  asPerson,
  gatewayBus,
  gatewayClient,
  newPrefix,
  readTopic,
  startMetering,
  usage,
  type MeteringEnv,
  type RunningMetering,
} from './fixtures/metering-fixture';

jest.setTimeout(180000);

// 23:50 on Friday 14 March 2025 in New York (EDT, UTC-4) is already Saturday 03:50 in UTC.
const BEFORE_MIDNIGHT = new Date('2025-03-15T03:50:00Z');
const AFTER_MIDNIGHT = new Date('2025-03-15T04:05:00Z');

interface SpendView {
  timeZone: string;
  day: { periodStart: string; spentUsd: string; reservedUsd: string; softUsd?: string; hardUsd?: string };
  week: { periodStart: string; spentUsd: string };
  month: { periodStart: string; spentUsd: string };
  budgets: {
    scope: string;
    period: string;
    hardUsd: string | null;
    source: string;
    softReached: boolean;
    hardReached: boolean;
  }[];
}

describe('budgets: periods in a time zone, threshold events, plans, and the query API', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let env: MeteringEnv;
  let svc: RunningMetering;
  let bus: EventBus;
  const clock = new ManualClock(BEFORE_MIDNIGHT);
  const gw = () => gatewayClient(svc.url);
  const reserve = (requestId: string, userId: string, extra: object = {}) =>
    gw().request<{ reservationId: string; amountUsd: string }>('POST', '/internal/v1/reservations', {
      body: {
        requestId,
        userId,
        provider: 'openai',
        model: 'gpt-4o',
        inputTokens: 1000,
        maxOutputTokens: 500,
        ...extra,
      },
    });
  const spend = (userId: string, teamId?: string) =>
    gw().request<SpendView>('GET', `/internal/v1/spend/users/${userId}${teamId ? `?teamId=${teamId}` : ''}`);
  const ingest = async (userId: string, n: number, at: Date, teamId = '') => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const u = usage({ userId, teamId, at });
      ids.push(u.requestId!);
      await bus.publish(Topics.UsageRecorded, u, { key: userId });
    }
    await waitFor(
      async () =>
        (await svc.ctx.db.query(`SELECT 1 FROM api_usage WHERE request_id = ANY($1::text[])`, [ids])).length === n,
      { what: `${n} records of ${userId}` },
    );
  };

  beforeAll(async () => {
    pg = await requirePostgresDatabase('meter_bud');
    env = { adminUrl: pg.url, brokers: await requireKafka(), prefix: newPrefix() };
    svc = await startMetering(env, { clock, sweeper: false, settings: { BUDGET_TIME_ZONE: 'America/New_York' } });
    bus = await gatewayBus(env);
  });
  afterAll(async () => {
    await bus?.stop();
    await svc?.stop();
    await pg?.drop();
  });

  it('resets the day at midnight in BUDGET_TIME_ZONE, fires soft and hard once per period, and files late records in their own day', async () => {
    const user = 'u-tz';
    const set = await asPerson(svc.url, admin, 'PUT', '/v1/budgets', {
      scope: 'user',
      scopeId: user,
      period: 'day',
      softUsd: '0.02',
      hardUsd: 0.05,
    });
    expect(set).toMatchObject({
      status: 200,
      body: {
        scope: 'user',
        scopeId: user,
        period: 'day',
        softUsd: '0.02',
        hardUsd: '0.05',
        source: 'explicit',
        periodStart: '2025-03-14',
      },
    });

    // $0.0075 a record (1000 input + 500 output tokens of gpt-4o): the 3rd crosses the soft limit, the 7th the hard one.
    await ingest(user, 3, new Date('2025-03-15T03:40:00Z'));
    await ingest(user, 6, new Date('2025-03-15T03:45:00Z'));
    let view = await spend(user);
    expect(view).toMatchObject({
      timeZone: 'America/New_York',
      day: { periodStart: '2025-03-14', spentUsd: '0.0675', softUsd: '0.02', hardUsd: '0.05' },
    });
    expect(view.budgets[0]).toMatchObject({ softReached: true, hardReached: true });
    const refused = (await reserve('tz-1', user).catch((e: unknown) => e)) as InternalHttpError;
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: { code: 'budget_exceeded', details: { periodStart: '2025-03-14', spentUsd: '0.0675' } },
    });

    // 00:05 in New York: a new day (the week, Monday 10 March, and the month go on).
    clock.set(AFTER_MIDNIGHT);
    view = await spend(user);
    expect(view.day).toMatchObject({ periodStart: '2025-03-15', spentUsd: '0.00', reservedUsd: '0.00' });
    expect(view.week).toMatchObject({ periodStart: '2025-03-10', spentUsd: '0.0675' });
    expect(view.month).toMatchObject({ periodStart: '2025-03-01', spentUsd: '0.0675' });
    expect(await reserve('tz-2', user)).toMatchObject({ amountUsd: '0.0075' });
    // A record from 23:59 the day before arrives late: it counts for the 14th, not today.
    await ingest(user, 1, new Date('2025-03-15T03:59:00Z'));
    view = await spend(user);
    expect(view.day.spentUsd).toBe('0.00');
    const days = await svc.ctx.db.query<{ period_start: string; spent: string }>(
      `SELECT period_start::text, spent_usd::text AS spent FROM spend_counters WHERE scope = 'user' AND scope_id = $1 AND period = 'day' ORDER BY 1`,
      [user],
    );
    expect(days).toEqual([
      { period_start: '2025-03-14', spent: '0.075000000000' },
      { period_start: '2025-03-15', spent: '0.000000000000' },
    ]);
    // Today's usage crosses both thresholds again, once each.
    await ingest(user, 8, new Date('2025-03-15T04:06:00Z'));
    await ingest(user, 2, new Date('2025-03-15T04:07:00Z'));

    const events = await readTopic(env, Topics.BudgetThresholdCrossed, (got) => got.length >= 4);
    await new Promise((r) => setTimeout(r, 1500)); // anything extra would have arrived by now
    const all = (await readTopic(env, Topics.BudgetThresholdCrossed, (got) => got.length >= events.length)).map(
      (m) => ({
        key: m.key,
        ...fromBinary(BudgetThresholdCrossedSchema, m.value),
      }),
    );
    const mine = all.filter((e) => e.scopeId === user).map((e) => [e.periodStart, e.threshold, e.limitUsd]);
    expect(mine.sort()).toEqual(
      [
        ['2025-03-14', BudgetThreshold.SOFT, '0.02'],
        ['2025-03-14', BudgetThreshold.HARD, '0.05'],
        ['2025-03-15', BudgetThreshold.SOFT, '0.02'],
        ['2025-03-15', BudgetThreshold.HARD, '0.05'],
      ].sort(),
    );
    expect(all.find((e) => e.scopeId === user)).toMatchObject({
      key: `user:${user}`,
      timeZone: 'America/New_York',
      reason: 'spend',
      scope: BudgetScope.USER,
      period: BudgetPeriod.DAY,
    });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/hishamos_budget_events_total\{kind="soft_limit"[^}]*\} 2/);
    expect(metrics).toMatch(/hishamos_budget_events_total\{kind="hard_limit"[^}]*\} 2/);
  });

  it('applies team and global hard limits to reservations too', async () => {
    clock.set(AFTER_MIDNIGHT);
    await asPerson(svc.url, admin, 'PUT', '/v1/budgets', {
      scope: 'team',
      scopeId: 'team-x',
      period: 'month',
      hardUsd: '0.01',
    });
    const e = (await reserve('team-1', 'u-team', { teamId: 'team-x', maxOutputTokens: 1500 }).catch(
      (x: unknown) => x,
    )) as InternalHttpError;
    expect(e.status).toBe(403);
    expect((e.body as { error: { message: string; details: object } }).error).toMatchObject({
      message: expect.stringContaining('the monthly budget of team team-x'),
      details: { scope: 'team', scopeId: 'team-x', period: 'month', limitUsd: '0.01' },
    });
    expect(await reserve('team-2', 'u-team')).toMatchObject({ amountUsd: '0.0075' }); // not in the team
    // A budget set mid-week counts the week's spend so far (20 records of $0.0075 on the 14th and 15th).
    const g = await asPerson<{ budgetId: string; spentUsd: string; periodStart: string }>(
      svc.url,
      admin,
      'PUT',
      '/v1/budgets',
      { scope: 'global', period: 'week', softUsd: 100, hardUsd: 100 },
    );
    expect(g).toMatchObject({ status: 200, body: { spentUsd: '0.15', periodStart: '2025-03-10' } });
    // From then on, ingestion keeps the week (and the team's month) counters up to date.
    await ingest('u-team', 2, new Date('2025-03-15T04:10:00Z'), 'team-x');
    const standing = async (q: string) =>
      (await asPerson<{ budgets: { spentUsd: string }[] }>(svc.url, admin, 'GET', `/v1/budgets?${q}`)).body.budgets[0];
    expect(await standing('scope=global')).toMatchObject({ spentUsd: '0.165' });
    expect(await standing('scope=team&scopeId=team-x')).toMatchObject({ spentUsd: '0.015' });
    expect(await reserve('global-1', 'u-any', { maxOutputTokens: 1000 })).toMatchObject({ amountUsd: '0.0125' });
    await asPerson(svc.url, admin, 'PUT', '/v1/budgets', { scope: 'global', period: 'week', hardUsd: '0.01' });
    const ge = (await reserve('global-2', 'u-any').catch((x: unknown) => x)) as InternalHttpError;
    expect((ge.body as { error: { message: string } }).error.message).toContain('the weekly global budget');
    expect((await asPerson(svc.url, admin, 'DELETE', `/v1/budgets/${g.body.budgetId}`)).status).toBe(200);
    expect(await reserve('global-3', 'u-any')).toMatchObject({ amountUsd: '0.0075' });
  });

  it('gives subscribers their plan budgets unless set explicitly', async () => {
    const plan = await asPerson(svc.url, admin, 'PUT', '/v1/plans/pro', {
      name: 'Pro',
      budgets: [{ period: 'day', softUsd: 1, hardUsd: 2 }],
    });
    expect(plan).toMatchObject({
      status: 200,
      body: { id: 'pro', budgets: [{ period: 'day', softUsd: '1.000000', hardUsd: '2.000000' }] },
    });
    const sub = await asPerson(svc.url, admin, 'PUT', '/v1/subscriptions/u-plan', {
      planId: 'pro',
      currentPeriodStart: '2025-03-01T00:00:00Z',
      currentPeriodEnd: '2025-04-01T00:00:00Z',
    });
    expect(sub).toMatchObject({ status: 200, body: { userId: 'u-plan', planId: 'pro', status: 'active' } });
    const budgets = async () =>
      (
        await asPerson<{ budgets: { period: string; hardUsd: string; source: string }[] }>(
          svc.url,
          admin,
          'GET',
          '/v1/budgets?scope=user&scopeId=u-plan',
        )
      ).body.budgets;
    expect(await budgets()).toEqual([expect.objectContaining({ period: 'day', hardUsd: '2.00', source: 'plan' })]);
    await asPerson(svc.url, admin, 'PUT', '/v1/budgets', {
      scope: 'user',
      scopeId: 'u-plan',
      period: 'day',
      hardUsd: 5,
    });
    await asPerson(svc.url, admin, 'PUT', '/v1/plans/pro', {
      name: 'Pro',
      budgets: [
        { period: 'day', hardUsd: 3 },
        { period: 'month', hardUsd: 50 },
      ],
    });
    expect(await budgets()).toEqual([
      expect.objectContaining({ period: 'day', hardUsd: '5.00', source: 'explicit' }),
      expect.objectContaining({ period: 'month', hardUsd: '50.00', source: 'plan' }),
    ]);
    expect(
      (await asPerson(svc.url, admin, 'DELETE', '/v1/budgets?scope=user&scopeId=u-plan&period=day')).body,
    ).toMatchObject({
      replacedBy: { source: 'plan', hard_usd: '3.000000' },
    });
    await asPerson(svc.url, admin, 'PUT', '/v1/subscriptions/u-plan', { planId: 'pro', status: 'canceled' });
    expect(await budgets()).toEqual([]);
    expect((await asPerson(svc.url, admin, 'PUT', '/v1/subscriptions/u-plan', { planId: 'nope' })).body).toMatchObject({
      error: { field: 'planId' },
    });
    const plans = await asPerson<{ plans: { id: string }[] }>(svc.url, { subject: 'm' }, 'GET', '/v1/plans');
    expect(plans.body.plans.map((p) => p.id)).toEqual(['enterprise', 'free', 'pro', 'team']);
    expect((await asPerson(svc.url, { subject: 'u-plan' }, 'GET', '/v1/subscriptions/u-plan')).body).toMatchObject({
      status: 'canceled',
    });
    expect((await asPerson(svc.url, { subject: 'u-other' }, 'GET', '/v1/subscriptions/u-plan')).status).toBe(403);
  });

  it('lets admins manage budgets and people read their own, with clear errors', async () => {
    const member = { subject: 'u-tz', teamId: 'team-x' };
    expect(
      (
        await asPerson(svc.url, member, 'PUT', '/v1/budgets', {
          scope: 'user',
          scopeId: 'u-tz',
          period: 'day',
          hardUsd: 1000,
        })
      ).status,
    ).toBe(403);
    const mine = await asPerson<{ budgets: { scope: string }[] }>(svc.url, member, 'GET', '/v1/budgets');
    expect(mine.body.budgets.map((b) => b.scope).sort()).toEqual(['team', 'user']);
    expect((await asPerson(svc.url, member, 'GET', '/v1/budgets?scope=user&scopeId=u-plan')).status).toBe(403);
    const bad = (body: object) => asPerson(svc.url, admin, 'PUT', '/v1/budgets', body);
    expect((await bad({ scope: 'user', scopeId: 'x', period: 'day', softUsd: 5, hardUsd: 1 })).body).toMatchObject({
      error: { code: 'invalid_request', field: 'softUsd' },
    });
    expect((await bad({ scope: 'user', period: 'day', hardUsd: 1 })).body).toMatchObject({
      error: { field: 'scopeId' },
    });
    expect((await bad({ scope: 'user', scopeId: 'x', period: 'year', hardUsd: 1 })).body).toMatchObject({
      error: { code: 'validation_failed', field: 'period' },
    });
    expect((await bad({ scope: 'user', scopeId: 'x', period: 'day', hardUsd: '1.0000001' })).body).toMatchObject({
      error: { field: 'hardUsd' },
    });
    expect((await bad({ scope: 'user', scopeId: 'x', period: 'day' })).body).toMatchObject({
      error: { field: 'hardUsd' },
    });
    expect((await asPerson(svc.url, admin, 'DELETE', '/v1/budgets/00000000-0000-4000-8000-000000000000')).status).toBe(
      404,
    );
    const today = await asPerson<SpendView>(svc.url, member, 'GET', '/v1/spend/today');
    expect(today.body.day).toMatchObject({ periodStart: '2025-03-15', hardUsd: '0.05' });
    expect(today.body.budgets.map((b) => b.scope)).toEqual(['user', 'team']);
  });

  it('answers the Token Management queries: by user, agent, model, command and day, top spenders, records', async () => {
    const q = <T>(path: string, who: object = admin) => asPerson<T>(svc.url, who as { subject: string }, 'GET', path);
    type Usage = {
      rows: Record<string, string | number>[];
      totals: { requests: number; costUsd: string };
      groupBy: string[];
    };
    const byUserAgent = await q<Usage>('/v1/usage?from=2025-03-14&to=2025-03-15&groupBy=user,agent');
    expect(byUserAgent.status).toBe(200);
    expect(byUserAgent.body.rows).toContainEqual(
      expect.objectContaining({ user: 'u-tz', agent: 'coding', requests: 20, costUsd: '0.15' }),
    );
    expect(byUserAgent.body.totals).toMatchObject({ requests: 22, costUsd: '0.165' });
    const byDay = await q<Usage>('/v1/usage?from=2025-03-01&to=2025-03-31&groupBy=day,model,command');
    expect(byDay.body.rows).toEqual([
      expect.objectContaining({
        day: '2025-03-14',
        model: 'gpt-4o',
        command: 'write_code',
        requests: 10,
        costUsd: '0.075',
        inputTokens: 10000,
        outputTokens: 5000,
      }),
      expect.objectContaining({
        day: '2025-03-15',
        model: 'gpt-4o',
        command: 'write_code',
        requests: 12,
        costUsd: '0.09',
      }),
    ]);
    expect((await q<Usage>('/v1/usage?from=2025-03-15&to=2025-03-14')).body).toMatchObject({
      error: { field: 'from' },
    });
    expect((await q<Usage>('/v1/usage?groupBy=planet')).body).toMatchObject({ error: { field: 'groupBy' } });
    // A member sees their own usage only.
    expect(
      (await q<Usage>('/v1/usage?from=2025-03-01&to=2025-03-31&groupBy=user', { subject: 'u-nobody' })).body.rows,
    ).toEqual([]);
    expect((await q<Usage>('/v1/usage?userId=u-tz', { subject: 'u-nobody' })).status).toBe(403);
    const top = await q<{ top: { user: string; costUsd: string }[] }>('/v1/spend/top?by=user&from=2025-03-01&limit=5');
    expect(top.body.top[0]).toMatchObject({ user: 'u-tz', costUsd: '0.15' });
    expect((await q('/v1/spend/top', { subject: 'u-tz' })).status).toBe(403);
    const recs = await q<{ records: { userId: string; costUsd: string; day: string }[]; nextCursor: string | null }>(
      '/v1/usage/records?userId=u-tz&since=2025-03-14T00:00:00Z&until=2025-03-16T00:00:00Z&limit=15',
    );
    expect(recs.body.records).toHaveLength(15);
    expect(recs.body.records[0]).toMatchObject({ userId: 'u-tz', costUsd: '0.0075', day: '2025-03-15' });
    const next = await q<{ records: unknown[]; nextCursor: string | null }>(
      `/v1/usage/records?userId=u-tz&since=2025-03-14T00:00:00Z&until=2025-03-16T00:00:00Z&limit=15&cursor=${encodeURIComponent(recs.body.nextCursor!)}`,
    );
    expect(next.body.records).toHaveLength(5);
    expect(next.body.nextCursor).toBeNull();
  });
});
