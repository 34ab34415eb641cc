/*
 * PENDING (not matched by jest: run it with
 *   cd e2e && NODE_OPTIONS=--experimental-vm-modules npx jest --runInBand --testMatch '<rootDir>/pending/*.ts' pending/kafka-restart.ts
 * ) — issue #12 section 2, faults: "kill -9 ... (and the Kafka broker once) ... every workflow completes".
 * It uses the harness's own broker (never the shared one).
 *
 * What is missing: libs/messaging KafkaTransport.subscribe does not bring back a consumer that kafkajs
 * does not restart by itself. kafkajs 2.2.4 restarts a crashed consumer only when the error
 * (or its original cause) is retriable (node_modules/kafkajs/src/consumer/index.js, `isErrorRetriable`);
 * while the broker is down a consumer that is idle or rejoining crashes with
 *   KafkaJSNonRetriableError: Failed to find group coordinator
 * and stays stopped: its group is Empty for good after the broker is back (seen on the orchestrator's
 * tasks.requested group after a 15-25 s outage, and on most groups of the gateway, orchestrator,
 * usage-metering and alerting after a longer one), so runs in flight never finish. Meanwhile
 * /health/ready keeps answering 200 (the bus check is only `describeCluster`).
 * Needed: KafkaTransport listens to `consumer.events.CRASH` and, when `payload.restart` is false,
 * connects and runs the consumer again with backoff (or re-creates it); and the readiness check
 * fails while a subscription's consumer is not running.
 * When fixed, fold this into test/platform.int-spec.ts after the Postgres restart.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Topics } from '@hishamos/contracts';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { Api, externalTaskRecord, Harness } from '../src';

const INCIDENT = {
  service: 'checkout-api',
  platform: 'Kubernetes with Helm',
  symptoms: '5xx rate at 12% since 14:02 UTC',
  logs: 'ERROR pool exhausted at 14:02:11',
  telemetry: 'p99 2.4 s, error rate 12%',
  objectives: '99.9% availability',
  time_window: '14:00-14:30 UTC',
  deployed_version: 'v2.31.0',
  environment: 'Node.js services on GKE',
  assets: 'payment tokens',
  customer_reports: 'Customers cannot pay since 14:05',
};

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
    const admin = h.api();
    const user = await admin.expect<{ id: string }>(201, 'POST', '/v1/users', {
      email: `kim-${h.runId}@e2e.example.com`,
      name: 'Kim',
      roles: ['member'],
    });
    const { key } = await admin.expect<{ key: string }>(201, 'POST', '/v1/api-keys', { name: 'k', userId: user.id });
    const api = new Api(h.url('agent-gateway'), key);
    const calls = fake.requests.length;
    const task = externalTaskRecord({ requestedBy: user.id, workflow: 'incident-response', inputs: INCIDENT });
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
    await new Promise((r) => setTimeout(r, 20000));
    await h.startKafka();
    const done = await waitFor(
      async () => {
        const r = await api.get<{ status: string }>(`/v1/runs/${run.id}`);
        return r.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
      },
      { timeoutMs: 180000, intervalMs: 1000, what: 'the run to finish after the broker restart' },
    );
    expect(done.status).toBe('succeeded');
    const kafka = new Kafka({ brokers: h.brokers, clientId: 'probe', logLevel: logLevel.NOTHING });
    const probe = kafka.admin();
    await probe.connect();
    const groups = (await probe.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes('hishamos.'));
    const states = (await probe.describeGroups(groups)).groups.map((g) => `${g.groupId} ${g.members.length}`);
    await probe.disconnect();
    expect(states.filter((s) => s.endsWith(' 0'))).toEqual([]);
  });
});
