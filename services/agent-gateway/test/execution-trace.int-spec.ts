import { randomBytes, randomUUID } from 'node:crypto';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { Topics, type Envelope, type Topic } from '@hishamos/contracts';
import { startTracing } from '@hishamos/platform';
import { waitFor } from '@hishamos/testing';
import { ExecutionWorker } from '../src/workers/execution.worker';
import { createUserWithKey, startTestGateway, type TestGateway } from './execution-harness';

jest.setTimeout(180000);

const REVIEW = { code: 'function add(a, b) { return a - b }', language: 'JavaScript' };

/** A caller's W3C trace context: a new trace id and the caller's span id. */
function callerTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

const traceIdOf = (e: Envelope) => e.headers.traceparent?.split('-')[1] ?? '(none)';

/**
 * Issue #12 section 3 at the gateway: an execution continues the trace it was requested in, though a
 * worker runs it later. ExecutionRequested (the consumer's span) and the HTTP API (the caller's
 * `traceparent`) both lead to ExecutionCompleted and UsageRecorded records with the requester's trace
 * id, and the gateway's spans (`execute <agent>/<command>`, provider calls) belong to that trace.
 */
describe('trace context through the gateway', () => {
  const spans = new InMemorySpanExporter();
  let gw: TestGateway;
  let member: { id: string; key: string };
  let completed: Envelope<typeof Topics.ExecutionCompleted>[];
  let usage: Envelope<typeof Topics.UsageRecorded>[];

  beforeAll(async () => {
    // Before the platform starts: its own startTracing call then keeps this (in-memory) exporter.
    await startTracing('agent-gateway', { spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
    gw = await startTestGateway();
    member = await createUserWithKey(gw, 'tracy@example.com', ['member']);
    completed = await gw.capture(Topics.ExecutionCompleted);
    usage = await gw.capture(Topics.UsageRecorded);
  });
  afterAll(async () => gw?.stop());

  const eventOf = <T extends Topic>(
    events: Envelope<T>[],
    id: string,
    field: 'executionId' | 'requestId',
    what: string,
  ) =>
    waitFor(() => events.find((e) => (e.payload as Record<string, unknown>)[field] === id), { what: `${what} ${id}` });
  const eventsOf = async (id: string) => ({
    completed: await eventOf(completed, id, 'executionId', 'ExecutionCompleted'),
    usage: await eventOf(usage, id, 'requestId', 'UsageRecorded'),
  });
  const spansOf = (traceId: string): ReadableSpan[] =>
    spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

  it('runs an ExecutionRequested in the trace of the event: ExecutionCompleted and UsageRecorded carry it', async () => {
    const { traceId, traceparent } = callerTrace();
    const executionId = randomUUID();
    await gw.platform.eventBus.publish(
      Topics.ExecutionRequested,
      {
        executionId,
        idempotencyKey: `run-t/review/${executionId}`,
        runId: 'run-t',
        stepId: 'review',
        attempt: 1,
        userId: member.id,
        agent: 'code-reviewer',
        command: 'review_code',
        inputs: REVIEW,
      },
      { key: 'run-t', headers: { traceparent } },
    );
    const events = await eventsOf(executionId);
    expect(traceIdOf(events.completed)).toBe(traceId);
    expect(traceIdOf(events.usage)).toBe(traceId);
    // The consumer span (child of the event's context), the worker's execute span under it, and the
    // provider call under that.
    const trace = await waitFor(
      () => {
        const found = spansOf(traceId);
        return found.some((s) => s.name.startsWith('chat ')) ? found : undefined;
      },
      { what: 'the spans of the trace' },
    );
    const consume = trace.find((s) => s.name === `consume ${Topics.ExecutionRequested}`)!;
    const execute = trace.find((s) => s.name === 'execute code-reviewer/review_code')!;
    const provider = trace.find((s) => s.name === 'chat anthropic claude-sonnet-4-5')!;
    expect(consume).toBeDefined();
    expect(parentOf(consume)).toBe(traceparent.split('-')[2]);
    expect(parentOf(execute)).toBe(consume.spanContext().spanId);
    expect(execute.attributes).toMatchObject({ 'hishamos.execution_id': executionId, 'hishamos.run_id': 'run-t' });
    expect(parentOf(provider)).toBe(execute.spanContext().spanId);
    // The events name the execute span as their parent (they were written inside it).
    expect(events.completed.headers.traceparent?.split('-')[2]).toBe(execute.spanContext().spanId);
  });

  it('continues the traceparent of an HTTP request, synchronous or queued (?async=true)', async () => {
    const sync = callerTrace();
    const res = await gw.api('/v1/agents/coding/commands/write_code', {
      key: member.key,
      body: { inputs: { feature: 'a CSV parser', language: 'Go' } },
      headers: { traceparent: sync.traceparent },
    });
    expect(res.status).toBe(200);
    const a = await eventsOf(res.json.id as string);
    expect([traceIdOf(a.completed), traceIdOf(a.usage)]).toEqual([sync.traceId, sync.traceId]);
    const server = spansOf(sync.traceId).find((s) => s.name === 'POST /v1/agents/:slug/commands/:command')!;
    expect(parentOf(server)).toBe(sync.traceparent.split('-')[2]);

    const queued = callerTrace();
    const accepted = await gw.api('/v1/agents/coding/commands/write_code?async=true', {
      key: member.key,
      body: { inputs: { feature: 'a JSON parser', language: 'Go' } },
      headers: { traceparent: queued.traceparent },
    });
    expect(accepted.status).toBe(202);
    const b = await eventsOf(accepted.json.id as string);
    expect([traceIdOf(b.completed), traceIdOf(b.usage)]).toEqual([queued.traceId, queued.traceId]);
    const [row] = await gw.service.context.db.query<{ trace_context: { traceparent: string } }>(
      `SELECT trace_context FROM executions WHERE id = $1`,
      [accepted.json.id],
    );
    expect(row.trace_context.traceparent.split('-')[1]).toBe(queued.traceId);
    await waitFor(() => spansOf(queued.traceId).some((s) => s.name === 'execute coding/write_code'), {
      what: 'the queued execution run in the request trace',
    });
  });

  it('keeps each call in its own trace when several are written in one transaction', async () => {
    const calls = Array.from({ length: 8 }, (_, i) => ({ i, ...callerTrace() }));
    const ids = await Promise.all(
      calls.map(async (c) => {
        const res =
          c.i % 2 === 0
            ? await gw.api('/v1/agents/coding/commands/write_code', {
                key: member.key,
                body: { inputs: { feature: `feature ${c.i}`, language: 'Go' } },
                headers: { traceparent: c.traceparent },
              })
            : await gw.api('/v1/chat/completions', {
                key: member.key,
                body: { model: 'agent/coding', messages: [{ role: 'user', content: `hello ${c.i}` }] },
                headers: { traceparent: c.traceparent },
              });
        expect(res.status).toBe(200);
        return (res.json.id as string).replace('chatcmpl-', '');
      }),
    );
    for (const [n, id] of ids.entries()) {
      const e = await eventsOf(id);
      expect([traceIdOf(e.completed), traceIdOf(e.usage)]).toEqual([calls[n].traceId, calls[n].traceId]);
    }
  });

  it('puts a streamed agent chat completion in the trace of its request', async () => {
    const { traceId, traceparent } = callerTrace();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${member.key}`, 'content-type': 'application/json', traceparent },
      body: JSON.stringify({
        model: 'agent/customer-success',
        messages: [{ role: 'user', content: 'A customer cannot pay. Draft a reply.' }],
        stream: true,
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const e = await eventsOf(res.headers.get('x-hishamos-execution-id')!);
    expect([traceIdOf(e.completed), traceIdOf(e.usage)]).toEqual([traceId, traceId]);
  });

  it('resumes a queued execution after a restart in the trace it was queued in', async () => {
    const { traceId, traceparent } = callerTrace();
    const id = randomUUID();
    await gw.service.context.db.query(
      `INSERT INTO executions (id, kind, status, idempotency_key, user_id, via, agent, command, request, trace_context)
       VALUES ($1, 'command', 'queued', $2, $3, 'event', 'coding', 'write_code', $4::jsonb, $5::jsonb)`,
      [
        id,
        `restart-${id}`,
        member.id,
        JSON.stringify({ inputs: { feature: 'resume me', language: 'Rust' } }),
        JSON.stringify({ traceparent }),
      ],
    );
    await gw.service.app.get(ExecutionWorker).resume();
    const e = await eventsOf(id);
    expect([traceIdOf(e.completed), traceIdOf(e.usage)]).toEqual([traceId, traceId]);
  });

  it('starts a new trace for a request without traceparent, one per request', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await gw.api('/v1/agents/coding/commands/write_code', {
        key: member.key,
        body: { inputs: { feature: `untraced ${i}`, language: 'Go' } },
      });
      ids.push(res.json.id as string);
    }
    const traces = await Promise.all(ids.map(async (id) => traceIdOf((await eventsOf(id)).completed)));
    expect(traces[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(traces[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(traces[0]).not.toBe(traces[1]);
  });
});
