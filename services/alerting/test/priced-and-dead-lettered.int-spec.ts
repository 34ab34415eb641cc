import { randomUUID } from 'node:crypto';
import { Topics, type PayloadInit, type Topic } from '@hishamos/contracts';
import { provisionServiceRole } from '@hishamos/persistence';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { checkSlack, startFakeSecrets, startHttpPeer, startSmtp, type HttpPeer, type Received } from './support/peers';
import { api, asUser, removeDir, startAlerting, TOKEN, type Running } from './support/service';

jest.setTimeout(240000);

type Json = Record<string, unknown>;
type Alert = Json & { ruleName: string; entity: string; message: string; action: string; suppressedBefore: number };

const slackText = (r: Received) =>
  ((JSON.parse(r.body) as Json).attachments as { text: string; title: string }[])[0].text;

/**
 * The three defaults that need usage-metering's UsagePriced and the bus's DeadLettered: high cost per
 * day, unknown model priced, DLQ receiving messages. The service runs distributed (real Kafka, real
 * Postgres); the channels are the default email (a local SMTP server) and Slack (a loopback peer that
 * checks Slack's payload).
 */
describe('alerting on priced usage and dead-lettered records (Kafka, Postgres)', () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  let pg: { url: string; drop: () => Promise<void> };
  let svc: Running & { dataDir: string };
  let call: ReturnType<typeof api>;
  let slack: HttpPeer;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let secrets: Awaited<ReturnType<typeof startFakeSecrets>>;
  const admin = asUser('u-sre', ['admin']);

  beforeAll(async () => {
    const brokers = await requireKafka();
    pg = await requirePostgresDatabase('alerting');
    const dbUrl = await provisionServiceRole(pg.url, 'alerting', `pw-${randomUUID()}`);
    slack = await startHttpPeer({ status: 200, body: 'ok' }, checkSlack);
    smtp = await startSmtp({ alerts: 'smtp-pass' });
    secrets = await startFakeSecrets(
      TOKEN,
      new Map([
        ['channels/slack/webhook-url', `${slack.url}/services/T1/B1/SECRET`],
        ['channels/email/smtp', JSON.stringify({ user: 'alerts', pass: 'smtp-pass' })],
        ['channels/pagerduty/routing-key', 'R0UT1NGK3Y0123456789abcdefABCDEF'],
      ]),
    );
    svc = await startAlerting({
      config: {
        HISHAMOS_MODE: 'distributed',
        DATABASE_URL: dbUrl,
        DATABASE_POOL_SIZE: '4',
        KAFKA_BROKERS: brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        SECRETS_URL: secrets.url,
      },
      env: { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), ALERT_EMAIL_TO: 'oncall@hishamos.test' },
    });
    call = api(svc.url);
    // The operator points the default email channel at the plain-text SMTP server of this test.
    const channels = (await call<{ data: { id: string; name: string }[] }>('GET', '/v1/channels', admin)).body.data;
    const email = channels.find((c) => c.name === 'email')!;
    const patched = await call('PATCH', `/v1/channels/${email.id}`, admin, {
      config: {
        host: '127.0.0.1',
        port: smtp.port,
        tls: 'none',
        from: 'alerts@hishamos.test',
        to: ['oncall@hishamos.test'],
      },
    });
    expect(patched.status).toBe(200);
  });

  afterAll(async () => {
    await svc?.stop();
    await Promise.all([slack?.close(), smtp?.close(), secrets?.close()]);
    await pg?.drop();
    if (svc) removeDir(svc.dataDir);
  });

  const processed = async (topic: Topic) => {
    const [row] = await svc.ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM processed_events WHERE consumer = $1`,
      [svc.ctx.groupOf(topic)],
    );
    return row.n;
  };
  const consumed = (topic: Topic, n: number) =>
    waitFor(async () => (await processed(topic)) >= n, { timeoutMs: 90000, what: `${n} ${topic} consumed` });
  const alerts = async (rule: string) =>
    (await call<{ data: Alert[] }>('GET', `/v1/alerts?rule=${rule}&limit=100`, admin)).body.data;
  const settle = () => new Promise((r) => setTimeout(r, 1500));

  let pricedSent = 0;
  const priced = async (init: {
    usageDay: string;
    globalSpendDayUsd?: string;
    costUsd?: string;
    provider?: string;
    model?: string;
    priced?: boolean;
    unpricedReason?: string;
  }) => {
    pricedSent++;
    const payload: PayloadInit<typeof Topics.UsagePriced> = {
      requestId: `req-${randomUUID()}`,
      userId: 'u-1',
      agent: 'coding',
      command: 'review',
      provider: 'openai',
      model: 'gpt-4o',
      usage: { inputTokens: 1000n, outputTokens: 200n },
      costUsd: '0.0125',
      priced: true,
      userSpendDayUsd: '1.00',
      globalSpendDayUsd: '1.00',
      ...init,
    };
    // Keyed by day, as the spend of a day only grows in the order it was metered.
    await svc.publish(Topics.UsagePriced, payload, init.usageDay);
  };

  it('high cost: fires once per day when the day crosses $100 (exactly $100 does not), and again for the next day', async () => {
    const day1 = '2025-03-14';
    const day2 = '2025-03-15';
    for (const spend of ['40.00', '80.50', '99.99', '100', '100.000'])
      await priced({ usageDay: day1, globalSpendDayUsd: spend });
    await consumed(Topics.UsagePriced, pricedSent);
    await settle();
    expect(await alerts('high_cost')).toHaveLength(0);

    for (const spend of ['100.01', '130.25', '160'])
      await priced({ usageDay: day1, globalSpendDayUsd: spend, costUsd: '0.5' });
    await consumed(Topics.UsagePriced, pricedSent);
    await waitFor(() => smtp.mails.length >= 1, { what: 'high cost email' });
    await settle();
    expect(smtp.mails).toHaveLength(1);
    let history = await alerts('high_cost');
    expect(history.map((a) => [a.action, a.entity, a.message])).toEqual([
      ['trigger', day1, `💰 High cost alert: $100.01 spent on ${day1}`],
    ]);

    // The next day starts under the threshold and crosses it by a millionth of a dollar.
    for (const spend of ['50', '100.000001', '120']) await priced({ usageDay: day2, globalSpendDayUsd: spend });
    // A late record of the first day does not page again.
    await priced({ usageDay: day1, globalSpendDayUsd: '170.10' });
    await consumed(Topics.UsagePriced, pricedSent);
    await waitFor(() => smtp.mails.length >= 2, { what: "the next day's email" });
    await settle();
    expect(smtp.mails).toHaveLength(2);
    expect(smtp.mails.every((m) => m.to.join() === 'oncall@hishamos.test')).toBe(true);
    history = await alerts('high_cost');
    expect(history.map((a) => [a.entity, a.message])).toEqual([
      [day2, `💰 High cost alert: $100.00 spent on ${day2}`],
      [day1, `💰 High cost alert: $100.01 spent on ${day1}`],
    ]);
    const deliveries = await call<{ data: { channel: string; status: string }[] }>(
      'GET',
      '/v1/deliveries?channel=email',
      admin,
    );
    expect(deliveries.body.data.map((d) => d.status)).toEqual(['succeeded', 'succeeded']);
    const [state] = await svc.ctx.db.query<{ suppressed: number }>(
      `SELECT s.suppressed FROM alert_states s JOIN alert_rules r ON r.id = s.rule_id
       WHERE r.name = 'high_cost' AND s.entity = $1`,
      [day1],
    );
    expect(state.suppressed).toBe(3);
  });

  it('unknown model: an unpriced record alerts on Slack naming the provider, the model and the reason', async () => {
    const base = slack.requests.length;
    const day = '2025-03-20';
    await priced({
      usageDay: day,
      provider: 'acme',
      model: 'mystery-1',
      priced: false,
      costUsd: '0',
      unpricedReason: 'unknown model',
    });
    await priced({
      usageDay: day,
      provider: 'acme',
      model: 'mystery-1',
      priced: false,
      costUsd: '0',
      unpricedReason: 'unknown model',
    });
    await priced({ usageDay: day, provider: 'openai', model: 'gpt-4o', priced: true });
    await consumed(Topics.UsagePriced, pricedSent);
    await waitFor(() => slack.requests.length > base, { what: 'unknown model alert' });
    await settle();
    const texts = slack.requests.slice(base).map(slackText);
    expect(texts).toEqual([
      '❓ Unpriced model acme/mystery-1 (unknown model): its usage counts as $0 until a price is added',
    ]);
    const history = await alerts('unknown_model_priced');
    expect(history.map((a) => a.entity)).toEqual(['acme/mystery-1']);
  });

  it('DLQ: a burst of dead-lettered records from one topic pages once per cooldown; another topic pages too', async () => {
    const base = slack.requests.length;
    const dead = (topic: string, i: number): PayloadInit<typeof Topics.DeadLettered> => ({
      topic,
      dlqTopic: `${topic}.dlq`,
      service: 'orchestrator',
      consumerGroup: `hishamos.orchestrator.${topic}`,
      error: `payload is not a valid record (#${i})`,
      attempts: 1,
      recordKey: `k-${i}`,
      eventId: randomUUID(),
      eventType: topic,
      at: { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 },
    });
    const a = 'hishamos.tasks.requested.v1';
    const b = 'hishamos.agents.execution-requested.v1';
    for (let i = 0; i < 50; i++) await svc.publish(Topics.DeadLettered, dead(a, i), `${a}-${i}`);
    await consumed(Topics.DeadLettered, 50);
    await waitFor(() => slack.requests.length > base, { what: 'DLQ alert' });
    await settle();
    expect(slack.requests.slice(base).map(slackText)).toHaveLength(1);
    for (let i = 0; i < 3; i++) await svc.publish(Topics.DeadLettered, dead(b, i), `${b}-${i}`);
    await consumed(Topics.DeadLettered, 53);
    await waitFor(() => slack.requests.length > base + 1, { what: 'DLQ alert for the second topic' });
    await settle();
    const texts = slack.requests.slice(base).map(slackText);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(
      new RegExp(
        `^📬 DLQ receiving messages: orchestrator moved a record from ${a.replace(/\./g, '\\.')} to ${a.replace(/\./g, '\\.')}\\.dlq: payload is not a valid record \\(#\\d+\\)$`,
      ),
    );
    expect(texts[1]).toContain(`from ${b} to ${b}.dlq`);
    const history = await alerts('dlq_receiving_messages');
    expect(history.map((h) => h.entity).sort()).toEqual([`${a} (orchestrator)`, `${b} (orchestrator)`].sort());
    const states = await svc.ctx.db.query<{ entity: string; suppressed: number }>(
      `SELECT s.entity, s.suppressed FROM alert_states s JOIN alert_rules r ON r.id = s.rule_id
       WHERE r.name = 'dlq_receiving_messages' ORDER BY s.entity`,
    );
    expect(states.map((s) => [s.entity, s.suppressed]).sort()).toEqual(
      [
        [`${a} (orchestrator)`, 49],
        [`${b} (orchestrator)`, 2],
      ].sort(),
    );
  });

  it('end to end: a record this service rejects goes to its DLQ, the bus announces it, and the DLQ rule posts it', async () => {
    const base = slack.requests.length;
    await svc.publish(
      Topics.UsagePriced,
      { requestId: 'req-bad', provider: 'openai', model: 'gpt-4o', costUsd: '1', priced: true, usageDay: 'yesterday' },
      'bad',
    );
    const expected = `📬 DLQ receiving messages: alerting moved a record from ${Topics.UsagePriced} to ${Topics.UsagePriced}.dlq: usage_day must be YYYY-MM-DD, got 'yesterday'`;
    await waitFor(() => slack.requests.slice(base).some((r) => slackText(r) === expected), {
      timeoutMs: 60000,
      what: 'DLQ alert for the rejected record',
    });
    const history = await alerts('dlq_receiving_messages');
    expect(history.map((h) => h.entity)).toContain(`${Topics.UsagePriced} (alerting)`);
  });
});
