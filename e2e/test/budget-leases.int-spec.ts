/*
 * Issue #6 (budgets hold under concurrency) with issue #3's gateway in front: calls are granted from
 * the budget leases the gateway holds at usage-metering (BUDGET_LEASES, the default), not reserved one
 * by one. A burst of concurrent calls against a small daily hard limit must never spend more than the
 * limit, every answered call must be charged exactly once, and once the gateway gives its leases back
 * nothing stays reserved.
 */
import OpenAI from 'openai';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { Harness } from '../src';

describe('budget leases through the gateway', () => {
  let fake: FakeProviderServer;
  let h: Harness;

  beforeAll(async () => {
    fake = await FakeProviderServer.start({ latencyMs: 20 });
    h = new Harness({
      infra: 'shared',
      env: {
        'agent-gateway': {
          OPENAI_API_KEY: 'sk-e2e-leases-0123456789',
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          // Short leases, so the test sees them given back.
          BUDGET_LEASE_SECONDS: '3',
        },
        'usage-metering': { RESERVATION_SWEEP_INTERVAL_MS: '1000' },
      },
    });
    await h.start(['agent-gateway', 'usage-metering', 'secrets']);
  }, 600000);
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  const metering = () => h.schema('usage-metering');

  it('never spends more than a hard limit under 200 concurrent calls, charges each answered call once, and frees every hold', async () => {
    // $0.50 a day. A call's prompt is ~2,000 tokens of gpt-4o (~$0.005) and max_tokens 1,000: up to
    // ~$0.015 each, about $0.0055 actually. 200 calls would cost ~$1.10.
    const lena = await h.createMember('Lena', { dailyBudgetUsd: '0.50' });
    const client = new OpenAI({ baseURL: `${h.url('agent-gateway')}/v1`, apiKey: lena.key, maxRetries: 0 });
    const outcomes: (number | 'ok')[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < 200) {
          const i = next++;
          try {
            await client.chat.completions.create({
              model: 'openai/gpt-4o',
              messages: [{ role: 'user', content: `Summarise incident ${i} in one line. `.repeat(220) }],
              max_tokens: 1000,
            });
            outcomes.push('ok');
          } catch (error) {
            outcomes.push((error as { status?: number }).status ?? 0);
          }
        }
      }),
    );
    const answered = outcomes.filter((o) => o === 'ok').length;
    const refused = outcomes.filter((o) => o === 429).length;
    expect(answered + refused).toBe(200);
    expect(answered).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);

    // Every answered call is charged once; together never more than the limit.
    const [usage] = await waitFor(
      async () => {
        const r = await h.sql<{ n: string; total: string }>(
          `SELECT count(*)::text AS n, coalesce(sum(cost), 0)::text AS total FROM ${metering()}.api_usage WHERE user_id = $1`,
          [lena.id],
        );
        return Number(r[0].n) === answered ? r : undefined;
      },
      { timeoutMs: 60000, what: `${answered} usage records of Lena` },
    );
    expect(Number(usage.total)).toBeLessThanOrEqual(0.5);
    // The limit was used, not refused wholesale (the last calls are refused while the calls in flight
    // still hold their worst case, so some of it stays unspent).
    expect(Number(usage.total)).toBeGreaterThan(0.2);

    // Most calls came from leases: far fewer reservations at metering than calls.
    const kinds = await h.sql<{ kind: string; n: string }>(
      `SELECT kind, count(*)::text AS n FROM ${metering()}.reservations WHERE user_id = $1 GROUP BY kind`,
      [lena.id],
    );
    const leases = Number(kinds.find((k) => k.kind === 'lease')?.n ?? 0);
    const perCall = Number(kinds.find((k) => k.kind === 'call')?.n ?? 0);
    expect(leases).toBeGreaterThan(0);
    expect(leases + perCall).toBeLessThan(answered);

    // The gateway gives its leases back (3 s of use here): nothing stays reserved, spend is exact.
    const counter = await waitFor(
      async () => {
        const r = await h.sql<{ spent: string; reserved: string }>(
          `SELECT spent_usd::text AS spent, reserved_usd::text AS reserved FROM ${metering()}.spend_counters
            WHERE scope = 'user' AND scope_id = $1 AND period = 'day'`,
          [lena.id],
        );
        return r[0] && Number(r[0].reserved) === 0 ? r[0] : undefined;
      },
      { timeoutMs: 30000, what: "Lena's holds freed" },
    );
    expect(counter.spent).toBe(usage.total);
  });
});
