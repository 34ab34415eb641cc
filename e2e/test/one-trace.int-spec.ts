/*
 * Issue #12 section 3: one trace spans the task from intake through every service. Another team's
 * TaskRequested (JSON, W3C `traceparent`) starts a run; every record the run causes carries the
 * producer's trace id — the orchestrator's ExecutionRequested and WorkflowEvents (published in the run's
 * stored trace context), the gateway's ExecutionCompleted and UsageRecorded (the queued execution keeps
 * the consumer span's context and its worker runs in it), feedback-ml's QualityScored — and the
 * exported spans of that trace come from the orchestrator, gateway, usage-metering, feedback-ml and alerting.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Topics, type ServiceName } from '@hishamos/contracts';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { externalTaskRecord, Harness, INCIDENT_INPUTS, HttpSink, spansFrom, TopicRecorder } from '../src';

describe('one trace from intake through every service', () => {
  const traces = new HttpSink(() => ({ status: 200, body: {} }));
  let fake: FakeProviderServer;
  let h: Harness;
  let recorder: TopicRecorder;
  let producer: Producer;

  beforeAll(async () => {
    fake = await FakeProviderServer.start();
    await traces.start();
    h = new Harness({
      env: {
        '*': { OTEL_EXPORTER_OTLP_ENDPOINT: traces.url },
        'agent-gateway': {
          OPENAI_API_KEY: 'sk-e2e-trace-openai-0123456789',
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          CLAUDE_API_KEY: 'sk-ant-e2e-trace-0123456789',
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
        },
      },
    });
    await h.start();
    recorder = new TopicRecorder(h.brokers, h.topicPrefix, `e2e-trace-${h.runId}`);
    await recorder.start();
    producer = new Kafka({ brokers: h.brokers, clientId: 'incidents-team', logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await recorder?.stop();
    await h?.stop();
    await fake?.close();
    await traces.stop();
  });

  it('carries the producer trace through the orchestrator, gateway, metering, feedback-ml and alerting', async () => {
    const { id: userId, api } = await h.createMember('Tracy');
    const task = externalTaskRecord({ requestedBy: userId, workflow: 'incident-response', inputs: INCIDENT_INPUTS });
    await producer.send({ topic: `${h.topicPrefix}.${Topics.TaskRequested}`, messages: [task.message] });
    const run = await waitFor(
      async () =>
        (await api.get<{ runs: { id: string; taskId: string }[] }>('/v1/runs')).body.runs?.find(
          (r) => r.taskId === task.taskId,
        ),
      { timeoutMs: 60000, what: 'the run' },
    );
    await waitFor(async () => (await api.get<{ status: string }>(`/v1/runs/${run.id}`)).body.status === 'succeeded', {
      timeoutMs: 120000,
      what: 'the run to succeed',
    });
    // Every record the task caused carries the producer's trace id in its traceparent.
    const traceOf = (hdr: Record<string, string>) => hdr.traceparent?.split('-')[1] ?? '(none)';
    const hops = await waitFor(
      () => {
        const requested = recorder.events(Topics.ExecutionRequested, (e) => e.payload.runId === run.id);
        const completed = recorder.events(Topics.ExecutionCompleted, (e) => e.payload.runId === run.id);
        const usage = recorder.events(Topics.UsageRecorded, (e) => e.payload.runId === run.id);
        const progressed = recorder.events(Topics.WorkflowProgressed, (e) => e.payload.runId === run.id);
        const ids = new Set(completed.map((e) => e.payload.executionId));
        const scored = recorder.events(Topics.QualityScored, (e) => ids.has(e.payload.executionId));
        return scored.length === ids.size && ids.size > 0
          ? { requested, completed, usage, progressed, scored }
          : undefined;
      },
      { timeoutMs: 30000, what: 'the events of the run' },
    );
    const seen = Object.fromEntries(
      Object.entries(hops).map(([hop, events]) => [hop, [...new Set(events.map((e) => traceOf(e.headers)))]]),
    );
    expect(seen).toEqual({
      requested: [task.traceId],
      completed: [task.traceId],
      usage: [task.traceId],
      progressed: [task.traceId],
      scored: [task.traceId],
    });
    // And the exported spans of that trace come from every service that handled it.
    const services = await waitFor(
      () => {
        const s = new Set(
          spansFrom(traces.requests)
            .filter((x) => x.traceId === task.traceId)
            .map((x) => x.service),
        );
        return s.size >= 5 ? s : undefined;
      },
      { timeoutMs: 30000, what: 'spans of the trace from five services' },
    ).catch(
      () =>
        new Set(
          spansFrom(traces.requests)
            .filter((x) => x.traceId === task.traceId)
            .map((x) => x.service),
        ),
    );
    const expected: ServiceName[] = ['orchestrator', 'agent-gateway', 'usage-metering', 'feedback-ml', 'alerting'];
    expect([...services].sort()).toEqual([...expected].sort());
  });
});
