/*
 * Issue #12 section 2, faults: "Postgres restarted mid-run ... no notification is lost". Three
 * incident-response runs are in flight when the harness's own Postgres (never the shared one) stops
 * for 10 s: every run succeeds, nothing valid is dead-lettered, one notification per run. The event
 * bus retries connection-level errors without an attempt limit; the agent-gateway's ExecutionWorker
 * keeps an execution whose database work meets the outage and retries it with capped backoff (its
 * outcome's write included: the provider is called once, usage recorded once) instead of leaving it
 * to its 300 s lease.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Topics } from '@hishamos/contracts';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { externalTaskRecord, Harness, INCIDENT_INPUTS, TopicRecorder } from '../src';

describe('a Postgres outage mid-run', () => {
  let fake: FakeProviderServer;
  let h: Harness;
  let recorder: TopicRecorder;
  let producer: Producer;

  beforeAll(async () => {
    fake = await FakeProviderServer.start({ latencyMs: 300 });
    h = new Harness({
      env: {
        'agent-gateway': {
          OPENAI_API_KEY: 'sk-e2e-pg-openai-0123456789',
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          CLAUDE_API_KEY: 'sk-ant-e2e-pg-0123456789',
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
        },
      },
    });
    await h.start();
    recorder = new TopicRecorder(h.brokers, h.topicPrefix, `e2e-pg-${h.runId}`);
    await recorder.start();
    producer = new Kafka({ brokers: h.brokers, clientId: 'incidents-team', logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  }, 600000);
  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await recorder?.stop();
    await h?.stop();
    await fake?.close();
  });

  it('dead-letters nothing valid and loses no notification', async () => {
    const { id: userId, api } = await h.createMember('Pat');
    const tasks = [0, 1, 2].map(() =>
      externalTaskRecord({ requestedBy: userId, workflow: 'incident-response', inputs: INCIDENT_INPUTS }),
    );
    await producer.send({ topic: `${h.topicPrefix}.${Topics.TaskRequested}`, messages: tasks.map((t) => t.message) });
    await waitFor(() => recorder.events(Topics.ExecutionCompleted).length >= 3, {
      timeoutMs: 60000,
      what: 'traffic in flight',
    });
    await h.stopPostgres();
    await new Promise((r) => setTimeout(r, 10000));
    await h.startPostgres();
    const runs = await waitFor(
      async () => {
        const r = await api.get<{ runs: { id: string; taskId: string; status: string }[] }>('/v1/runs');
        const mine = r.body.runs?.filter((x) => tasks.some((t) => t.taskId === x.taskId)) ?? [];
        return mine.length === 3 && mine.every((x) => x.status === 'succeeded') ? mine : undefined;
      },
      { timeoutMs: 240000, intervalMs: 1000, what: 'the three runs to succeed' },
    );
    const strays = recorder.messages.filter((m) => m.topic.endsWith('.dlq'));
    expect(strays.map((m) => `${m.topic} ${m.headers['x-consumer-group']}: ${m.headers['x-error']}`)).toEqual([]);
    const notes = (await api.get<{ data: { link: string | null }[] }>('/v1/notifications?limit=100')).body.data;
    for (const run of runs) expect(notes.filter((n) => n.link === `/v1/runs/${run.id}`)).toHaveLength(1);
  });
});
