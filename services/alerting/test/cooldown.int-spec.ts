import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { CircuitState, Topics } from '@hishamos/contracts';
import { createEventBus, type EventBus } from '@hishamos/messaging';
import { provisionServiceRole } from '@hishamos/persistence';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { counter, spawnAlerting, type Child } from './support/child';
import { checkPagerDuty, startFakeSecrets, startHttpPeer, type HttpPeer } from './support/peers';
import { api, asUser, TOKEN } from './support/service';

jest.setTimeout(300000);

const ROUTING_KEY = 'R0UT1NGK3Y0123456789abcdefABCDEF';

/**
 * Cooldowns and dedup held by Postgres, with two alerting processes consuming the same topic on a real
 * Kafka broker, across a restart of one of them; and a PagerDuty trigger then resolve over Kafka.
 */
describe('alerting distributed: two processes, Kafka, Postgres', () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  // The platform namespaces consumer groups by the topic prefix.
  const GROUP = `${prefix}.hishamos.alerting.${Topics.ProviderHealth}`;
  let pg: { url: string; drop: () => Promise<void> };
  let brokers: string[];
  let bus: EventBus;
  let hook: HttpPeer;
  let pd: HttpPeer;
  let secrets: Awaited<ReturnType<typeof startFakeSecrets>>;
  let env: Record<string, string>;
  let admin: Client;
  let kafkaAdmin: ReturnType<Kafka['admin']>;
  const children: Child[] = [];

  beforeAll(async () => {
    brokers = await requireKafka();
    pg = await requirePostgresDatabase('alerting');
    const dbUrl = await provisionServiceRole(pg.url, 'alerting', `pw-${randomUUID()}`);
    admin = new Client({ connectionString: pg.url });
    await admin.connect();
    hook = await startHttpPeer({ status: 200, body: {} });
    pd = await startHttpPeer({ status: 202, body: { status: 'success' } }, checkPagerDuty);
    secrets = await startFakeSecrets(
      TOKEN,
      new Map([
        ['webhooks/cooldown', 'whsec-cooldown-0123456789'],
        ['channels/pagerduty/routing-key', ROUTING_KEY],
      ]),
    );
    env = {
      DATABASE_URL: dbUrl,
      DATABASE_POOL_SIZE: '8',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      SERVICE_TOKEN: TOKEN,
      SECRETS_URL: secrets.url,
      PAGERDUTY_EVENTS_URL: `${pd.url}/v2/enqueue`,
      ALERTING_DELIVERY_BACKOFF_MS: '100',
      ALERTING_EVALUATION_INTERVAL_MS: '1000',
      ALERTING_DB_POOL_SAMPLE_MS: '0',
    };
    bus = createEventBus(
      { transport: 'kafka', brokers, clientId: `${prefix}-producer`, topicPrefix: prefix },
      'test/producer',
    );
    await bus.start([Topics.ProviderHealth]);
    kafkaAdmin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await kafkaAdmin.connect();
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await bus?.stop();
    await kafkaAdmin?.disconnect();
    await admin?.end();
    await Promise.all([hook?.close(), pd?.close(), secrets?.close()]);
    await pg?.drop();
  });

  const start = async () => {
    const c = await spawnAlerting(env);
    children.push(c);
    return c;
  };

  /** Both processes share the provider-health partitions (the group is stable with two members). */
  const groupOfTwo = () =>
    waitFor(
      async () => {
        const { groups } = await kafkaAdmin.describeGroups([GROUP]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === 2;
      },
      { timeoutMs: 90000, intervalMs: 500, what: 'two members in the consumer group' },
    );

  const processed = async () => {
    const r = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM alerting.processed_events WHERE consumer = $1`,
      [GROUP],
    );
    return r.rows[0].n;
  };

  const publishBurst = async (provider: string, n: number, extra: Record<string, unknown> = {}) => {
    for (let i = 0; i < n; i++)
      await bus.publish(
        Topics.ProviderHealth,
        { provider, state: CircuitState.OPEN, healthy: true, ...extra },
        { key: `${provider}-${randomUUID()}` },
      );
  };

  const hooksFor = (provider: string) =>
    hook.requests.filter((r) => (JSON.parse(r.body) as { alert: { entity: string } }).alert.entity === provider);

  const evaluated = async (c: Child) =>
    counter(await (await fetch(`${c.url}/metrics`)).text(), 'hishamos_alerting_events_evaluated_total', {
      event_type: 'provider_health',
    });

  it('notifies once per rule and entity per cooldown window with two processes, across a restart, and again after the window', async () => {
    const a = await start();
    const b = await start();
    const call = api(a.url);
    const sre = asUser('u-sre', ['admin']);
    // Both processes seeded at the same time: each default exists once.
    const seeded = (await call<{ data: { name: string }[] }>('GET', '/v1/alert-rules', sre)).body.data;
    expect(seeded.length).toBe(11);
    expect(new Set(seeded.map((r) => r.name)).size).toBe(11);

    expect(
      (
        await call('POST', '/v1/channels', sre, {
          name: 'hook',
          type: 'webhook',
          config: { url: `${hook.url}/in` },
          secretPath: 'webhooks/cooldown',
        })
      ).status,
    ).toBe(201);
    const rule = (name: string, condition: string, cooldownMinutes: number) =>
      call('POST', '/v1/alert-rules', sre, {
        name,
        kind: 'event',
        eventType: 'provider_health',
        condition,
        entity: 'provider',
        severity: 'warning',
        channels: ['hook'],
        cooldownMinutes,
        messageTemplate: '{provider} is {state}',
      });
    expect((await rule('long_cooldown', 'state == "OPEN" and startsWith(provider, "probe-")', 10)).status).toBe(201);
    expect((await rule('short_cooldown', 'state == "OPEN" and startsWith(provider, "short-")', 0.1)).status).toBe(201);

    await groupOfTwo();
    // 1. Thirty events for one rule and entity, spread over the partitions both processes consume.
    await publishBurst('probe-1', 30);
    await waitFor(async () => (await processed()) === 30, { timeoutMs: 60000, what: '30 events processed' });
    const [byA, byB] = [await evaluated(a), await evaluated(b)];
    expect(byA + byB).toBe(30);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
    await waitFor(() => hooksFor('probe-1').length >= 1, { what: 'first notification' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooksFor('probe-1')).toHaveLength(1);

    // 2. One process restarts; the window still holds.
    await a.stop();
    const a2 = await start();
    await groupOfTwo();
    await publishBurst('probe-1', 10);
    await waitFor(async () => (await processed()) === 40, { timeoutMs: 60000, what: '40 events processed' });
    expect((await evaluated(a2)) + (await evaluated(b))).toBe(10 + byB);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooksFor('probe-1')).toHaveLength(1);
    const state = await admin.query<{ suppressed: number }>(
      `SELECT s.suppressed FROM alerting.alert_states s JOIN alerting.alert_rules r ON r.id = s.rule_id
       WHERE r.name = 'long_cooldown' AND s.entity = 'probe-1'`,
    );
    expect(state.rows[0].suppressed).toBe(39);

    // 3. A 6-second window: one notification per window, never zero once it has passed.
    await publishBurst('short-1', 10);
    await waitFor(() => hooksFor('short-1').length >= 1, { what: 'short window notification' });
    await waitFor(async () => (await processed()) === 50, { timeoutMs: 60000, what: '50 events processed' });
    expect(hooksFor('short-1')).toHaveLength(1);
    const firstAt = hooksFor('short-1')[0].at;
    await new Promise((r) => setTimeout(r, Math.max(0, firstAt + 6500 - Date.now())));
    await publishBurst('short-1', 10);
    await waitFor(async () => (await processed()) === 60, { timeoutMs: 60000, what: '60 events processed' });
    await waitFor(() => hooksFor('short-1').length >= 2, { what: 'next window notification' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooksFor('short-1')).toHaveLength(2);
    expect(hooksFor('probe-1')).toHaveLength(1);

    const deliveries = await api(b.url)<{ data: { channel: string; status: string; attempts: number }[] }>(
      'GET',
      '/v1/deliveries?channel=hook',
      sre,
    );
    expect(deliveries.body.data.map((d) => [d.status, d.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
  });

  it('over Kafka, a provider that goes down then recovers gets a PagerDuty trigger then a resolve with the same dedup_key', async () => {
    await bus.publish(
      Topics.ProviderHealth,
      { provider: 'openai', state: CircuitState.OPEN, healthy: false, error: '503' },
      { key: 'openai' },
    );
    await waitFor(() => pd.requests.length >= 1, { timeoutMs: 30000, what: 'trigger' });
    await bus.publish(
      Topics.ProviderHealth,
      { provider: 'openai', state: CircuitState.CLOSED, healthy: true },
      { key: 'openai' },
    );
    await waitFor(() => pd.requests.length >= 2, { timeoutMs: 30000, what: 'resolve' });
    const [trigger, resolve] = pd.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      payload: { summary: '🚨 AI Platform DOWN: openai', severity: 'critical', source: 'hishamos' },
    });
    expect(resolve).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: trigger.dedup_key });
    await new Promise((r) => setTimeout(r, 1500));
    expect(pd.requests).toHaveLength(2);
  });
});
