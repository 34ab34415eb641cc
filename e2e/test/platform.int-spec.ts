import { Kafka, logLevel } from 'kafkajs';
import { dlqTopic, SERVICE_NAMES } from '@hishamos/contracts';
import { ALL_SERVICES } from '@hishamos/cli';
import { waitFor } from '@hishamos/testing';
import { Harness, HttpSink } from '../src';
import { BAD_KINDS, badRecord } from '../src/bad-input';

describe('the platform distributed: six processes, Kafka, Postgres, Prometheus, Alertmanager', () => {
  const pagerDuty = new HttpSink();
  let h: Harness;

  beforeAll(async () => {
    await pagerDuty.start();
    h = new Harness({
      prometheus: {
        pagerDutyUrl: `${pagerDuty.url}/v2/enqueue`,
        pagerDutyRoutingKey: 'e2e-routing-key-0123456789abcdef',
      },
    });
    await h.start();
  });
  afterAll(async () => {
    await h?.stop();
    await pagerDuty.stop();
  });

  it('starts every service ready on Postgres and Kafka', async () => {
    for (const s of SERVICE_NAMES) {
      const r = await fetch(`${h.url(s)}/health/ready`);
      const body = (await r.json()) as { checks: { database: { kind: string }; bus: { transport: string } } };
      expect(r.status).toBe(200);
      expect(body.checks.database.kind).toBe('postgres');
      expect(body.checks.bus.transport).toBe('kafka');
    }
  });

  it('is scraped by Prometheus with the project rules loaded', async () => {
    const prom = h.prometheus!.prometheusUrl;
    await waitFor(
      async () => {
        const r = (await (await fetch(`${prom}/api/v1/targets`)).json()) as {
          data: { activeTargets: { health: string; labels: { service: string } }[] };
        };
        const up = r.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.service);
        return SERVICE_NAMES.every((s) => up.includes(s));
      },
      { what: 'all six targets up', timeoutMs: 30000, intervalMs: 500 },
    );
    const rules = (await (await fetch(`${prom}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string }[] }[] };
    };
    const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    for (const alert of ['HighErrorRate', 'WorkflowDurationHigh', 'HighAPICost', 'AgentDown', 'ProviderCircuitOpen'])
      expect(names).toContain(alert);
    const q = (await (await fetch(`${prom}/api/v1/query?query=sum(hishamos_service_up)`)).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    expect(Number(q.data.result[0]?.value[1])).toBe(SERVICE_NAMES.length);
  });

  it('sends 1,000 malformed or hostile events on every consumed topic to the DLQs with reasons, and no consumer stops', async () => {
    // Which consumer groups read each topic (hishamos.<service>.<topic>), from the services' own definitions.
    const groups = new Map<string, string[]>();
    for (const def of ALL_SERVICES)
      for (const t of def.consumes) groups.set(t, [...(groups.get(t) ?? []), `hishamos.${def.name}.${t}`]);
    const topics = [...groups.keys()];
    const kafka = new Kafka({ brokers: h.brokers, clientId: 'e2e-hostile', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const expected = new Set<string>();
    const batch: Map<string, { value: Buffer; headers: Record<string, string | Buffer> }[]> = new Map();
    for (let i = 0; i < 1000; i++) {
      const topic = topics[i % topics.length];
      const kind = BAD_KINDS[i % BAD_KINDS.length];
      const rec = badRecord(kind, topic, i);
      for (const g of groups.get(topic)!) expected.add(`${g}|${rec.id}`);
      const list = batch.get(topic) ?? [];
      list.push({ value: rec.value, headers: rec.headers as Record<string, string | Buffer> });
      batch.set(topic, list);
    }
    for (const [topic, messages] of batch) {
      for (let i = 0; i < messages.length; i += 20)
        await producer.send({ topic: `${h.topicPrefix}.${topic}`, messages: messages.slice(i, i + 20) });
    }
    await producer.disconnect();
    const seen = new Map<string, string>();
    const consumer = kafka.consumer({ groupId: `e2e-dlq-${h.runId}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: topics.map((t) => `${h.topicPrefix}.${dlqTopic(t)}`), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const hdr = (k: string) => message.headers?.[k]?.toString();
        seen.set(`${hdr('x-consumer-group')}|${hdr('ce_id')}`, hdr('x-error') ?? '');
      },
    });
    try {
      await waitFor(() => [...expected].every((k) => seen.has(k)), {
        what: `${expected.size} dead letters`,
        timeoutMs: 240000,
        intervalMs: 1000,
      }).catch((e: Error) => {
        const missing = [...expected].filter((k) => !seen.has(k));
        throw new Error(`${e.message}; ${missing.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`);
      });
    } finally {
      await consumer.disconnect();
    }
    for (const k of expected) expect(seen.get(k)).toMatch(/\S/);
    for (const s of SERVICE_NAMES) expect((await fetch(`${h.url(s)}/health/ready`)).status).toBe(200);
  });
});
