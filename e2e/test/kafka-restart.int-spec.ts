/*
 * The Kafka broker restarted mid-run (issue #12 section 2, faults): with a provider call in flight the
 * install's own broker stops for 45 s (long enough for kafkajs to give up on idle or rejoining consumers:
 * "Failed to find group coordinator") and starts again. The run finishes, every consumer group has its
 * member back (libs/messaging brings back every crashed consumer), and the services' /health/ready
 * answered 503 while a consumer was down. Uses the harness's own broker, never the shared one.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { SERVICE_NAMES, Topics } from '@hishamos/contracts';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { externalTaskRecord, Harness, INCIDENT_INPUTS } from '../src';

describe('a Kafka broker restart mid-run', () => {
  let fake: FakeProviderServer;
  let h: Harness;
  let producer: Producer;

  beforeAll(async () => {
    fake = await FakeProviderServer.start({ latencyMs: 1500 });
    h = new Harness({
      env: {
        'agent-gateway': {
          OPENAI_API_KEY: 'sk-e2e-kafka-openai-0123456789',
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          CLAUDE_API_KEY: 'sk-ant-e2e-kafka-0123456789',
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
        },
      },
    });
    await h.start();
    producer = new Kafka({
      brokers: h.brokers,
      clientId: 'incidents-team',
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 5000 },
    }).producer();
    await producer.connect();
  }, 600000);
  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await h?.stop();
    await fake?.close();
  });

  it('finishes the run, every consumer group has its member back, and readiness tells the truth meanwhile', async () => {
    const { id: userId, api } = await h.createMember('Kim');
    const calls = fake.requests.length;
    const task = externalTaskRecord({ requestedBy: userId, workflow: 'incident-response', inputs: INCIDENT_INPUTS });
    await producer.send({ topic: `${h.topicPrefix}.${Topics.TaskRequested}`, messages: [task.message] });
    const run = await waitFor(
      async () =>
        (await api.get<{ runs: { id: string; taskId: string }[] }>('/v1/runs')).body.runs?.find(
          (r) => r.taskId === task.taskId,
        ),
      { timeoutMs: 60000, what: 'the run' },
    );
    await waitFor(() => fake.requests.length > calls, { timeoutMs: 60000, intervalMs: 20, what: 'a provider call' });
    await h.stopKafka();
    // Long enough for kafkajs's coordinator lookups to run out of retries (about 20 s); a shorter outage
    // sometimes passes. Meanwhile every service says it is not ready (its bus check fails).
    const notReady = new Set<string>();
    const until = Date.now() + 45000;
    while (Date.now() < until) {
      await Promise.all(
        SERVICE_NAMES.map(async (service) => {
          const r = await fetch(`${h.url(service)}/health/ready`).catch(() => undefined);
          if (r?.status !== 503) return;
          const body = (await r.json()) as { checks?: { bus?: { ok?: boolean } } };
          if (body.checks?.bus?.ok === false) notReady.add(service);
        }),
      );
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect([...notReady].sort()).toEqual([...SERVICE_NAMES].sort());
    await h.startKafka();
    const done = await waitFor(
      async () => {
        const r = await api.get<{ status: string }>(`/v1/runs/${run.id}`);
        return r.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
      },
      { timeoutMs: 180000, intervalMs: 1000, what: 'the run to finish after the broker restart' },
    );
    expect(done.status).toBe('succeeded');
    // Ready again: the broker answers and every consumer is back in its group.
    for (const service of SERVICE_NAMES)
      await waitFor(async () => (await fetch(`${h.url(service)}/health/ready`)).status === 200, {
        timeoutMs: 120000,
        intervalMs: 1000,
        what: `${service} ready after the broker restart`,
      });
    const kafka = new Kafka({ brokers: h.brokers, clientId: 'probe', logLevel: logLevel.NOTHING });
    const probe = kafka.admin();
    await probe.connect();
    const groups = (await probe.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes('hishamos.'));
    const states = (await probe.describeGroups(groups)).groups.map((g) => `${g.groupId} ${g.members.length}`);
    await probe.disconnect();
    expect(states.filter((s) => s.endsWith(' 0'))).toEqual([]);
  }, 600000);
});
