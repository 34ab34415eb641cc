import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { decodeEvent, encodeEvent, Topics } from '@hishamos/contracts';
import type { EventBus } from '@hishamos/messaging';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { fromPico, toPico } from '../src';
import {
  admin,
  asPerson,
  gatewayBus,
  newPrefix,
  readTopic,
  REPO,
  startMetering,
  usage,
  type MeteringEnv,
  type RunningMetering,
  type UsageInit,
} from './fixtures/metering-fixture';

jest.setTimeout(240000);

/** Seeded list prices in pico-dollars per token: input, output, cached input. */
const PRICES: Record<string, [bigint, bigint, bigint]> = {
  'openai/gpt-4o': [2_500_000n, 10_000_000n, 1_250_000n],
  'anthropic/claude-sonnet-4-20250514': [3_000_000n, 15_000_000n, 300_000n],
  'gemini/gemini-2.5-flash': [300_000n, 2_500_000n, 75_000n],
};
const MODELS = Object.keys(PRICES).map((k) => k.split('/') as [string, string]);

function costOf(u: UsageInit): bigint {
  const [i, o, c] = PRICES[`${u.provider}/${u.model}`];
  const t = u.usage!;
  return (
    (BigInt(t.inputTokens!) - BigInt(t.cachedInputTokens ?? 0n)) * i +
    BigInt(t.outputTokens!) * o +
    BigInt(t.cachedInputTokens ?? 0n) * c
  );
}

function records(n: number, users: number, at: () => Date, seed = 7): UsageInit[] {
  let s = seed;
  const rand = (lo: number, hi: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return lo + (s % (hi - lo + 1));
  };
  return Array.from({ length: n }, (_, k) => {
    const [provider, model] = MODELS[k % MODELS.length];
    const input = rand(1, 50_000);
    return usage({
      userId: `u-${k % users}`,
      teamId: k % 3 === 0 ? 'team-a' : '',
      provider,
      model,
      agent: ['coding', 'qa', 'devops'][k % 3],
      command: ['write_code', 'write_test'][k % 2],
      at: at(),
      usage: {
        inputTokens: BigInt(input),
        outputTokens: BigInt(rand(0, 8000)),
        cachedInputTokens: BigInt(rand(0, input)),
      },
    });
  });
}

async function totals(svc: RunningMetering) {
  const db = svc.ctx.db;
  const [u] = await db.query<{ n: string; cost: string }>(
    `SELECT count(*)::text AS n, coalesce(sum(cost), 0)::text AS cost FROM api_usage`,
  );
  const [d] = await db.query<{ n: string; cost: string }>(
    `SELECT coalesce(sum(requests), 0)::text AS n, coalesce(sum(cost), 0)::text AS cost FROM usage_daily`,
  );
  const [g] = await db.query<{ n: string; cost: string }>(
    `SELECT coalesce(sum(requests), 0)::text AS n, coalesce(sum(spent_usd), 0)::text AS cost FROM spend_counters
      WHERE scope = 'global' AND period = 'day'`,
  );
  const [us] = await db.query<{ cost: string }>(
    `SELECT coalesce(sum(spent_usd), 0)::text AS cost FROM spend_counters WHERE scope = 'user' AND period = 'day'`,
  );
  const pair = (n: string, c: string): [number, bigint] => [Number(n), toPico(c)];
  return {
    rows: Number(u.n),
    cost: toPico(u.cost),
    daily: pair(d.n, d.cost),
    global: pair(g.n, g.cost),
    users: toPico(us.cost),
  };
}

describe('usage ingestion from Kafka into Postgres', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let env: MeteringEnv;
  let svc: RunningMetering | undefined;
  let bus: EventBus;
  let producer: Producer;

  beforeAll(async () => {
    pg = await requirePostgresDatabase('meter_ing');
    env = { adminUrl: pg.url, brokers: await requireKafka(), prefix: newPrefix() };
    bus = await gatewayBus(env);
    producer = new Kafka({ brokers: env.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await bus?.stop();
    await svc?.stop();
    await pg?.drop();
  });

  it('loses and duplicates nothing when the consumer dies between writing a batch and committing it', async () => {
    // Published before any consumer runs, so the first batch is large and several users' rows are in it.
    const batch = records(400, 25, () => new Date(Date.now() - 60_000));
    for (let i = 0; i < batch.length; i += 100)
      await Promise.all(batch.slice(i, i + 100).map((u) => bus.publish(Topics.UsageRecorded, u, { key: u.userId! })));
    const hangFile = join(mkdtempSync(join(tmpdir(), 'meter-crash-')), 'hang');
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        join(__dirname, 'fixtures', 'ingest-crash-child.ts'),
        JSON.stringify({ ...env, hangFile }),
      ],
      {
        cwd: REPO,
        env: { ...process.env, SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'), NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    try {
      await waitFor(() => existsSync(hangFile), { what: `the child to hang mid-batch (${err})`, timeoutMs: 90000 });
      expect(Number(readFileSync(hangFile, 'utf8'))).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));

    svc = await startMetering(env);
    const expected = batch.reduce((s, u) => s + costOf(u), 0n);
    await waitFor(async () => (await totals(svc!)).rows === 400, {
      what: 'all 400 records after the crash',
      timeoutMs: 120000,
    });
    const t = await totals(svc);
    expect(t).toEqual({ rows: 400, cost: expected, daily: [400, expected], global: [400, expected], users: expected });
  });

  it('counts redelivered and duplicated records once, priced exactly', async () => {
    const before = await totals(svc!);
    const fresh = records(300, 10, () => new Date(Date.now() - 1000), 11);
    const ids = fresh.map(() => randomUUID());
    await Promise.all(fresh.map((u, i) => bus.publish(Topics.UsageRecorded, u, { key: u.userId!, id: ids[i] })));
    // The same events again (a redelivery: same event id), and the same requests under new event ids (a duplicate).
    await Promise.all(
      fresh.slice(0, 40).map((u, i) => bus.publish(Topics.UsageRecorded, u, { key: u.userId!, id: ids[i] })),
    );
    await Promise.all(fresh.slice(40, 100).map((u) => bus.publish(Topics.UsageRecorded, u, { key: u.userId! })));
    const expected = fresh.reduce((s, u) => s + costOf(u), 0n);
    await waitFor(async () => (await totals(svc!)).rows === before.rows + 300, {
      what: '300 more records',
      timeoutMs: 60000,
    });
    // Everything published has been consumed (the redeliveries and duplicates were published last).
    await waitFor(
      async () =>
        (await svc!.ctx.bus.lag(svc!.ctx.groupOf(Topics.UsageRecorded), [Topics.UsageRecorded]))[
          Topics.UsageRecorded
        ] === 0,
      { what: 'no consumer lag', timeoutMs: 60000 },
    );
    const t = await totals(svc!);
    expect(t.rows).toBe(before.rows + 300);
    expect(t.cost - before.cost).toBe(expected);
    expect(t.global).toEqual([before.global[0] + 300, before.global[1] + expected]);
    expect(t.daily).toEqual([before.daily[0] + 300, before.daily[1] + expected]);
  });

  it('prices each record at the price in effect at its time, and flags unknown models', async () => {
    const s = svc!;
    const put = (body: object) => asPerson(s.url, admin, 'PUT', '/v1/prices', body);
    expect(
      (
        await put({
          provider: 'acme',
          model: 'acme-1',
          inputPerMTokUsd: '1',
          outputPerMTokUsd: '2',
          effectiveFrom: '2025-01-01T00:00:00Z',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await put({
          provider: 'acme',
          model: 'acme-1',
          inputPerMTokUsd: 4,
          outputPerMTokUsd: '8.000001',
          cachedInputPerMTokUsd: '0.5',
          effectiveFrom: '2025-06-01T00:00:00Z',
        })
      ).status,
    ).toBe(200);
    const bad = await put({ provider: 'acme', model: 'acme-1', inputPerMTokUsd: '-1', outputPerMTokUsd: '2' });
    expect(bad).toMatchObject({ status: 400, body: { error: { field: 'inputPerMTokUsd' } } });
    expect(
      (
        await asPerson(s.url, { subject: 'm-1' }, 'PUT', '/v1/prices', {
          provider: 'a',
          model: 'b',
          inputPerMTokUsd: 1,
          outputPerMTokUsd: 1,
        })
      ).status,
    ).toBe(403);

    const tokens = { inputTokens: 1_000_000n, outputTokens: 1_000_000n, cachedInputTokens: 400_000n };
    const early = usage({
      userId: 'u-price',
      provider: 'acme',
      model: 'acme-1',
      at: new Date('2025-03-01T12:00:00Z'),
      usage: tokens,
    });
    const late = usage({
      userId: 'u-price',
      provider: 'acme',
      model: 'acme-1',
      at: new Date('2025-07-01T12:00:00Z'),
      usage: tokens,
    });
    const unknown = usage({
      userId: 'u-price',
      provider: 'acme',
      model: 'acme-unknown',
      usage: { inputTokens: 123n, outputTokens: 45n, cachedInputTokens: 0n },
    });
    for (const u of [early, late, unknown]) await bus.publish(Topics.UsageRecorded, u, { key: 'u-price' });
    await waitFor(
      async () => (await s.ctx.db.query(`SELECT 1 FROM api_usage WHERE user_id = 'u-price'`)).length === 3,
      { what: 'priced records' },
    );
    const rows = await s.ctx.db.query<{
      request_id: string;
      cost: string | null;
      priced: boolean;
      tokens_input: string;
    }>(
      `SELECT request_id, cost::text AS cost, priced, tokens_input::text AS tokens_input FROM api_usage WHERE user_id = 'u-price'`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.request_id, r]));
    expect(by[early.requestId!]).toMatchObject({ cost: '3.000000000000', priced: true }); // 1M x $1 + 1M x $2 (cached at the input price)
    expect(by[late.requestId!]).toMatchObject({ cost: '10.600001000000', priced: true }); // 0.6M x $4 + 0.4M x $0.5 + 1M x $8.000001
    expect(by[unknown.requestId!]).toMatchObject({ cost: null, priced: false, tokens_input: '123' });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/hishamos_unpriced_usage_total\{provider="acme",model="acme-unknown"[^}]*\} 1/);
    expect(metrics).toMatch(
      /hishamos_ai_cost_dollars_total\{provider="acme",model="acme-1",agent="coding"[^}]*\} 13\.6/,
    );
    expect(metrics).toMatch(
      /hishamos_ai_tokens_total\{provider="acme",model="acme-1",agent="coding",kind="cached_input"[^}]*\} 800000/,
    );
    const prices = await asPerson<{ prices: { model: string; inputPerMTokUsd: string }[]; unpricedModels: unknown[] }>(
      s.url,
      { subject: 'm-1' },
      'GET',
      '/v1/prices?provider=acme',
    );
    expect(prices.body.prices).toEqual([
      expect.objectContaining({ model: 'acme-1', inputPerMTokUsd: '4.00', cachedInputPerMTokUsd: '0.50' }),
    ]);
    expect(prices.body.unpricedModels).toContainEqual({ provider: 'acme', model: 'acme-unknown', records: 1 });
    const history = await asPerson<{ prices: unknown[] }>(s.url, admin, 'GET', '/v1/prices?provider=acme&history=true');
    expect(history.body.prices).toHaveLength(2);
    const seeded = await asPerson<{ prices: { provider: string; model: string; inputPerMTokUsd: string }[] }>(
      s.url,
      admin,
      'GET',
      '/v1/prices',
    );
    const providers = new Set(seeded.body.prices.map((p) => p.provider));
    for (const p of ['openai', 'anthropic', 'gemini', 'openrouter', 'offline']) expect(providers.has(p)).toBe(true);
    expect(seeded.body.prices).toContainEqual(
      expect.objectContaining({ provider: 'offline', model: 'offline', inputPerMTokUsd: '0.00' }),
    );
  });

  it('puts a late record in the day it happened, not the day it arrived', async () => {
    const s = svc!;
    const yesterday = new Date(Date.now() - 30 * 3600_000);
    const u = usage({ userId: 'u-late', at: yesterday });
    await bus.publish(Topics.UsageRecorded, u, { key: 'u-late' });
    await waitFor(async () => (await s.ctx.db.query(`SELECT 1 FROM api_usage WHERE user_id = 'u-late'`)).length === 1, {
      what: 'late record',
    });
    const day = yesterday.toISOString().slice(0, 10); // BUDGET_TIME_ZONE is UTC here
    const counters = await s.ctx.db.query<{ period_start: string; spent: string }>(
      `SELECT period_start::text, spent_usd::text AS spent FROM spend_counters WHERE scope = 'user' AND scope_id = 'u-late' AND period = 'day'`,
    );
    expect(counters).toEqual([{ period_start: day, spent: fromPico(costOf(u), 12) }]);
    const daily = await s.ctx.db.query<{ day: string }>(
      `SELECT day::text AS day FROM usage_daily WHERE user_id = 'u-late'`,
    );
    expect(daily).toEqual([{ day }]);
  });

  it('dead-letters bad records with the reason and writes no row for them', async () => {
    const s = svc!;
    const topic = `${env.prefix}.${Topics.UsageRecorded}`;
    const good = usage({ userId: 'u-dlq', requestId: 'dlq-good' });
    const cases: { requestId: string; payload: UsageInit; reason: RegExp }[] = [
      {
        requestId: 'dlq-neg',
        payload: usage({ userId: 'u-dlq', requestId: 'dlq-neg', usage: { inputTokens: -10n, outputTokens: 5n } }),
        reason: /usage.input_tokens: must not be negative/,
      },
      {
        requestId: 'dlq-eur',
        payload: usage({ userId: 'u-dlq', requestId: 'dlq-eur', currency: 'EUR' }),
        reason: /currency: unknown or unsupported currency 'EUR'/,
      },
      { requestId: 'dlq-noid', payload: usage({ userId: 'u-dlq', requestId: '' }), reason: /request_id: is required/ },
    ];
    const messages = [...cases.map((c) => c.payload), good].map((p) => {
      const ev = encodeEvent(Topics.UsageRecorded, p, { key: 'u-dlq', source: 'test/raw' });
      return { key: ev.key, value: Buffer.from(ev.value), headers: ev.headers };
    });
    const garbage = encodeEvent(Topics.UsageRecorded, good, { key: 'u-dlq', source: 'test/raw' });
    messages.push({
      key: 'u-dlq',
      value: Buffer.from('{"requestId": '),
      headers: { ...garbage.headers, ce_id: 'bad-json', 'content-type': 'application/json' },
    });
    messages.push({
      key: 'u-dlq',
      value: Buffer.from([0xff, 0xff, 0xff, 0x01]),
      headers: { ...garbage.headers, ce_id: 'bad-proto' },
    });
    await producer.send({ topic, messages });
    const dlq = await readTopic(env, `${Topics.UsageRecorded}.dlq`, (got) => got.length >= 5, 60000);
    const reasons = dlq.map((m) => m.headers['x-error']);
    for (const c of cases) expect(reasons.some((r) => c.reason.test(r))).toBe(true);
    expect(
      dlq
        .filter((m) => m.headers['x-error-code'] === 'invalid_usage_record')
        .map((m) => m.headers['x-error-field'])
        .sort(),
    ).toEqual(['currency', 'request_id', 'usage.input_tokens']);
    expect(dlq.find((m) => m.headers.ce_id === 'bad-json')?.headers['x-error']).toMatch(/payload is not a valid/);
    expect(dlq.find((m) => m.headers.ce_id === 'bad-proto')?.headers['x-error']).toMatch(/payload is not a valid/);
    await waitFor(
      async () => (await s.ctx.db.query(`SELECT 1 FROM api_usage WHERE request_id = 'dlq-good'`)).length === 1,
      { what: 'the good record' },
    );
    const rows = await s.ctx.db.query<{ request_id: string }>(
      `SELECT request_id FROM api_usage WHERE user_id = 'u-dlq'`,
    );
    expect(rows).toEqual([{ request_id: 'dlq-good' }]);
  });

  it('publishes one UsagePriced per ingested record, with its exact cost and the day spend after it', async () => {
    const s = svc!;
    // Everything ingested by the tests above (a crash, redeliveries, duplicates, unknown models, late records).
    await waitFor(async () => (await s.ctx.db.query(`SELECT 1 FROM outbox LIMIT 1`)).length === 0, {
      what: 'the outbox to drain',
    });
    const stored = await s.ctx.db.query<{
      request_id: string;
      user_id: string;
      cost: string | null;
      usage_day: string;
      tokens_input: string;
    }>(`SELECT request_id, user_id, cost::text AS cost, usage_day::text AS usage_day, tokens_input::text AS tokens_input
          FROM api_usage`);
    const counters = await s.ctx.db.query<{ scope: string; scope_id: string; day: string; spent: string }>(
      `SELECT scope, scope_id, period_start::text AS day, spent_usd::text AS spent FROM spend_counters
        WHERE period = 'day' AND scope IN ('user', 'global')`,
    );
    expect(stored.length).toBeGreaterThan(700);
    const messages = await readTopic(
      env,
      Topics.UsagePriced,
      (got) => new Set(got.map((m) => m.headers.ce_id)).size >= stored.length,
      60000,
    );
    const events = messages.map((m) => decodeEvent(Topics.UsagePriced, m.key, m.value, m.headers));
    // Once per request id, keyed by user, nothing for the redeliveries and duplicates.
    expect(events).toHaveLength(stored.length);
    expect(new Set(events.map((e) => e.payload.requestId))).toEqual(new Set(stored.map((r) => r.request_id)));
    const byId = new Map(stored.map((r) => [r.request_id, r]));
    for (const { key, payload: p } of events) {
      const row = byId.get(p.requestId)!;
      expect(key).toBe(row.user_id);
      expect(p.userId).toBe(row.user_id);
      expect(p.usageDay).toBe(row.usage_day);
      expect(String(p.usage!.inputTokens)).toBe(row.tokens_input);
      expect(p.priced).toBe(row.cost !== null);
      expect(toPico(p.costUsd)).toBe(row.cost === null ? 0n : toPico(row.cost));
      if (row.cost === null) expect(p.unpricedReason).toMatch(/unknown model: no price for acme\/acme-unknown/);
      else expect(p.unpricedReason).toBe('');
    }
    // Each user's events (in their key's order) and the platform's (ordered by spend) form exact running
    // totals of the day, ending at the counters.
    const chains = new Map<string, { spend: bigint; cost: bigint }[]>();
    const link = (key: string, spend: string, cost: string) => {
      if (!chains.has(key)) chains.set(key, []);
      chains.get(key)!.push({ spend: toPico(spend), cost: toPico(cost) });
    };
    for (const { payload: p } of events) {
      link(`user/${p.userId}/${p.usageDay}`, p.userSpendDayUsd, p.costUsd);
      link(`global//${p.usageDay}`, p.globalSpendDayUsd, p.costUsd);
    }
    const counter = new Map(counters.map((c) => [`${c.scope}/${c.scope_id}/${c.day}`, toPico(c.spent)]));
    expect(chains.size).toBeGreaterThan(30);
    const cmp = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
    for (const [key, chain] of chains) {
      // Concurrent partitions interleave on the platform's counter: order by the spend after each record
      // (a zero-cost record after the one that brought the spend there).
      if (key.startsWith('global')) chain.sort((a, b) => cmp(a.spend, b.spend) || cmp(b.cost, a.cost));
      const steps = chain.map((c, i) => c.spend - (i === 0 ? 0n : chain[i - 1].spend));
      expect([key, steps]).toEqual([key, chain.map((c) => c.cost)]);
      expect([key, chain[chain.length - 1].spend]).toEqual([key, counter.get(key)]);
    }
  });
});
