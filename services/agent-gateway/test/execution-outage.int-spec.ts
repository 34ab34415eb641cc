import { Topics, type Envelope } from '@hishamos/contracts';
import { waitFor } from '@hishamos/testing';
import { createUserWithKey, startTestGateway, type Json, type TestGateway } from './execution-harness';

jest.setTimeout(180000);

type Method = 'query' | 'run' | 'transaction';
type Fn = (...args: unknown[]) => Promise<unknown>;

/** What node-postgres says when Postgres goes away mid-query (connectionErrorKind: 'database'). */
const terminated = () => new Error('Connection terminated unexpectedly');

/**
 * The gateway's database made unreachable on demand (its `query`, `run` and `transaction` throw the
 * driver's connection error): all of it (`down`), or only the statements a rule matches.
 */
class DatabaseOutage {
  down = false;
  failures = 0;
  private readonly rules: { sql: RegExp; times: number }[] = [];
  private readonly originals = new Map<Method, Fn>();

  constructor(private readonly db: Record<Method, Fn>) {
    for (const m of ['query', 'run', 'transaction'] as const) {
      const original = db[m];
      this.originals.set(m, original);
      db[m] = (...args: unknown[]) => {
        if (this.fails(typeof args[0] === 'string' ? args[0] : '')) {
          this.failures++;
          return Promise.reject(terminated());
        }
        return original.apply(db, args);
      };
    }
  }

  /** Statements matching `sql` fail `times` times (Infinity: until `clear`). */
  failNext(sql: RegExp, times: number): void {
    this.rules.push({ sql, times });
  }

  clear(sql: RegExp): void {
    for (const r of this.rules) if (r.sql.source === sql.source) r.times = 0;
  }

  restore(): void {
    for (const [m, fn] of this.originals) this.db[m] = fn;
  }

  private fails(sql: string): boolean {
    if (this.down) return true;
    const rule = this.rules.find((r) => r.times > 0 && r.sql.test(sql));
    if (!rule) return false;
    rule.times--;
    return true;
  }
}

/**
 * Queued executions survive a database outage: the worker keeps the execution and retries its
 * database work (claim, preparation, the outcome's write) with backoff until the database answers.
 * The provider is called once, one UsageRecorded and one ExecutionCompleted are published.
 */
describe('queued executions during a database outage', () => {
  let gw: TestGateway;
  let outage: DatabaseOutage;
  let member: { id: string; key: string };
  let completed: Envelope<typeof Topics.ExecutionCompleted>[];
  let usage: Envelope<typeof Topics.UsageRecorded>[];

  beforeAll(async () => {
    gw = await startTestGateway();
    member = await createUserWithKey(gw, 'olga@example.com', ['member']);
    completed = await gw.capture(Topics.ExecutionCompleted);
    usage = await gw.capture(Topics.UsageRecorded);
    outage = new DatabaseOutage(gw.service.context.db as unknown as Record<Method, Fn>);
  });
  afterAll(async () => {
    outage?.restore();
    await gw?.stop();
  });

  const queue = async (): Promise<string> => {
    const res = await gw.api('/v1/agents/coding/commands/write_code?async=true', {
      key: member.key,
      body: { inputs: { feature: 'a CSV parser', language: 'Go' } },
    });
    expect(res.status).toBe(202);
    return res.json.id as string;
  };

  const succeeded = (id: string) =>
    waitFor(
      async () => {
        const r = await gw.api(`/v1/executions/${id}`, { key: member.key });
        return r.json.status === 'succeeded' ? r.json : r.json.status === 'failed' ? r.json : undefined;
      },
      { what: `execution ${id} finished`, timeoutMs: 60000 },
    );

  /** Exactly one ExecutionCompleted and one UsageRecorded for the execution (after a settling pause). */
  const publishedOnce = async (id: string) => {
    await waitFor(() => completed.some((e) => e.payload.executionId === id) || undefined, {
      what: `ExecutionCompleted ${id}`,
    });
    await waitFor(() => usage.some((e) => e.payload.requestId === id) || undefined, { what: `UsageRecorded ${id}` });
    await new Promise((r) => setTimeout(r, 1000));
    expect(completed.filter((e) => e.payload.executionId === id)).toHaveLength(1);
    expect(usage.filter((e) => e.payload.requestId === id)).toHaveLength(1);
    expect(gw.metering.reservations.filter((r) => r.requestId === id)).toHaveLength(1);
  };

  it('writes the outcome once the database is back, after one provider call', async () => {
    const calls = gw.fake.requests.length;
    const reply = gw.fake.reply;
    // Postgres goes away while the provider answers: the outcome's write meets the outage.
    gw.fake.latencyMs = 200;
    gw.fake.reply = (ctx) => {
      outage.down = true;
      setTimeout(() => (outage.down = false), 2500).unref();
      return reply(ctx);
    };
    try {
      const id = await queue();
      const view: Json = await succeeded(id);
      expect(view.status).toBe('succeeded');
      expect(outage.failures).toBeGreaterThan(0);
      expect(gw.fake.requests.length - calls).toBe(1);
      await publishedOnce(id);
      const logs = gw.logs.join('\n');
      expect(logs).toContain('cannot write finished executions: the database is unreachable');
      expect(logs).not.toContain('"execution failed"');
      expect(logs).not.toContain('execution worker failed');
    } finally {
      gw.fake.reply = reply;
      gw.fake.latencyMs = 0;
      outage.down = false;
    }
  });

  it('keeps an execution whose claim and preparation fail, and runs it once the database answers', async () => {
    const calls = gw.fake.requests.length;
    const failuresBefore = outage.failures;
    const claim = /lease_token = \$3/;
    outage.failNext(claim, Infinity);
    const id = await queue();
    // The worker is retrying its claim; the catalog read and the lease renewal fail next.
    await waitFor(() => outage.failures - failuresBefore >= 2 || undefined, { what: 'claim retries' });
    outage.failNext(/FROM agents/, 2);
    outage.failNext(/SET lease_until = now\(\)/, 1);
    outage.clear(claim);
    const view: Json = await succeeded(id);
    expect(view.status).toBe('succeeded');
    expect(outage.failures - failuresBefore).toBeGreaterThanOrEqual(5);
    expect(gw.fake.requests.length - calls).toBe(1);
    await publishedOnce(id);
    const logs = gw.logs.join('\n');
    expect(logs).not.toContain('"execution failed"');
    expect(logs).not.toContain('execution worker failed');
  });
});
