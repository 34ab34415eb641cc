import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import type { Topic } from '@hishamos/contracts';
import type { SqlExecutor } from '@hishamos/persistence';
import { startTracing, stopTracing, type ServiceContext } from '@hishamos/platform';
import type { GatewayMetrics } from '../metrics/gateway.metrics';
import { ExecutionRecorder } from './execution-recorder';
import type { ExecutionRecord, ExecutionRepository } from './execution.repository';

const TRACE = { a: 'a'.repeat(32), b: 'b'.repeat(32), c: 'c'.repeat(32) } as const;

/** A context whose active span is a remote one of this trace (as a consumer's or a request's would be). */
const inTrace = (traceId: string) =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: traceId.slice(0, 16).replace(/./, '1'),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });

const record = (id: string): ExecutionRecord => ({
  id,
  kind: 'command',
  status: 'succeeded',
  userId: 'u-1',
  via: 'api_key',
  agent: 'coding',
  command: 'write_code',
  offline: false,
  streamed: false,
  inputTokens: 10,
  outputTokens: 20,
  cachedInputTokens: 0,
  usageEstimated: false,
});

function setup() {
  const written: { topic: Topic; id: string; traceparent?: string }[] = [];
  let release: () => void = () => undefined;
  const firstCommit = new Promise<void>((r) => (release = r));
  let transactions = 0;
  const tx = {} as SqlExecutor;
  const ctx = {
    db: {
      transaction: async <T>(fn: (tx: SqlExecutor) => Promise<T>) => {
        // The first transaction stays open until released, so the calls made meanwhile are written together.
        if (transactions++ === 0) await firstCommit;
        return fn(tx);
      },
    },
    outbox: {
      addMany: jest.fn(
        async (
          _tx: SqlExecutor,
          topic: Topic,
          payloads: { executionId?: string; requestId?: string }[],
          opts: unknown,
        ) => {
          const list = opts as { headers?: Record<string, string> }[];
          payloads.forEach((p, i) =>
            written.push({ topic, id: p.executionId ?? p.requestId ?? '', traceparent: list[i].headers?.traceparent }),
          );
          return payloads.map(() => 'event-id');
        },
      ),
    },
  } as unknown as ServiceContext;
  const repository = {
    writeFinished: async (records: ExecutionRecord[]) => new Set(records.map((r) => r.id)),
  } as unknown as ExecutionRepository;
  const metrics = { executions: { inc: () => undefined }, countTokens: () => undefined } as unknown as GatewayMetrics;
  return { recorder: new ExecutionRecorder(ctx, repository, metrics), written, release, tx };
}

const traceIdsOf = (written: { id: string; traceparent?: string }[], id: string) =>
  written.filter((w) => w.id === id).map((w) => w.traceparent?.split('-')[1] ?? '(none)');

describe('ExecutionRecorder and trace context', () => {
  beforeAll(() => startTracing('agent-gateway-recorder-spec')); // registers the async context manager
  afterAll(() => stopTracing());

  it("gives each call's events its own trace, also when a group commit writes them in another call's context", async () => {
    const { recorder, written, release } = setup();
    const item = (id: string) => ({ record: record(id), usage: true, completed: true });
    // `a` starts the group commit (its transaction is held open); the others wait for the next one,
    // which runs in `a`'s async context.
    const a = context.with(inTrace(TRACE.a), () => recorder.record(item('a')));
    const b = context.with(inTrace(TRACE.b), () => recorder.record(item('b')));
    const c = context.with(inTrace(TRACE.c), () => recorder.record(item('c')));
    const none = context.with(ROOT_CONTEXT, () => recorder.record(item('none')));
    release();
    await expect(Promise.all([a, b, c, none])).resolves.toEqual([true, true, true, true]);
    expect(traceIdsOf(written, 'a')).toEqual([TRACE.a, TRACE.a]);
    expect(traceIdsOf(written, 'b')).toEqual([TRACE.b, TRACE.b]);
    expect(traceIdsOf(written, 'c')).toEqual([TRACE.c, TRACE.c]);
    // A call made outside any trace does not inherit the batch's.
    expect(traceIdsOf(written, 'none')).toEqual(['(none)', '(none)']);
  });

  it("writes a consumer's items (recordIn) in the consumer's trace unless an item brings its own", async () => {
    const { recorder, written, tx } = setup();
    await context.with(inTrace(TRACE.a), () =>
      recorder.recordIn(tx, [
        { record: record('mine'), usage: false, completed: true },
        {
          record: record('theirs'),
          usage: false,
          completed: true,
          trace: { traceparent: `00-${TRACE.b}-${'2'.repeat(16)}-01` },
        },
      ]),
    );
    expect(traceIdsOf(written, 'mine')).toEqual([TRACE.a]);
    expect(traceIdsOf(written, 'theirs')).toEqual([TRACE.b]);
  });
});

/**
 * A database double with commits: a transaction's rows and events count only when it commits. It can
 * refuse connections, or lose the answer to a commit that did happen (the connection dropped after COMMIT).
 */
function outageSetup(script: ('refused' | 'terminated' | 'lost-answer' | 'ok')[]) {
  const finished = new Set<string>();
  const events: { topic: Topic; id: string }[] = [];
  let attempts = 0;
  interface StagedTx extends SqlExecutor {
    rows: string[];
    events: { topic: Topic; id: string }[];
  }
  const ctx = {
    db: {
      transaction: async <T>(fn: (tx: SqlExecutor) => Promise<T>) => {
        const step = script[attempts++] ?? 'ok';
        if (step === 'refused')
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        const tx = { rows: [], events: [] } as unknown as StagedTx;
        const result = await fn(tx);
        if (step === 'terminated') throw new Error('Connection terminated unexpectedly'); // rolled back
        for (const id of tx.rows) finished.add(id);
        events.push(...tx.events);
        if (step === 'lost-answer') throw new Error('Connection terminated unexpectedly'); // committed
        return result;
      },
    },
    outbox: {
      addMany: async (tx: StagedTx, topic: Topic, payloads: { executionId?: string; requestId?: string }[]) => {
        tx.events.push(...payloads.map((p) => ({ topic, id: p.executionId ?? p.requestId ?? '' })));
        return payloads.map(() => 'event-id');
      },
    },
    logger: { warn: jest.fn(), info: jest.fn() },
  } as unknown as ServiceContext;
  const repository = {
    writeFinished: async (records: ExecutionRecord[], tx: StagedTx) => {
      const mine = records.filter((r) => !finished.has(r.id)).map((r) => r.id);
      tx.rows.push(...mine);
      return new Set(mine);
    },
  } as unknown as ExecutionRepository;
  const metrics = { executions: { inc: () => undefined }, countTokens: () => undefined } as unknown as GatewayMetrics;
  return { recorder: new ExecutionRecorder(ctx, repository, metrics), events, attempts: () => attempts, ctx };
}

describe('ExecutionRecorder while the database is away', () => {
  const item = (id: string) => ({ record: record(id), usage: true, completed: true, trace: {} });

  it('keeps the finished executions and writes them once the database answers', async () => {
    const { recorder, events, attempts, ctx } = outageSetup(['refused', 'terminated', 'refused']);
    await expect(Promise.all([recorder.record(item('a')), recorder.record(item('b'))])).resolves.toEqual([true, true]);
    expect(attempts()).toBe(4);
    expect(events.map((e) => `${e.topic} ${e.id}`).sort()).toEqual([
      'hishamos.executions.completed.v1 a',
      'hishamos.executions.completed.v1 b',
      'hishamos.usage.recorded.v1 a',
      'hishamos.usage.recorded.v1 b',
    ]);
    expect(ctx.logger.warn).toHaveBeenCalledTimes(1); // the outage, once
  });

  it('records usage once when the answer to a commit was lost', async () => {
    const { recorder, events } = outageSetup(['lost-answer']);
    // The retry finds the row finished: not written again, no second UsageRecorded.
    await expect(recorder.record(item('c'))).resolves.toBe(false);
    expect(events.map((e) => `${e.topic} ${e.id}`).sort()).toEqual([
      'hishamos.executions.completed.v1 c',
      'hishamos.usage.recorded.v1 c',
    ]);
  });

  it('gives up when the gateway stops mid-outage', async () => {
    const { recorder } = outageSetup(Array<'refused'>(100).fill('refused'));
    const pending = recorder.record(item('d'));
    await new Promise((r) => setTimeout(r, 300));
    await recorder.onModuleDestroy();
    await expect(pending).rejects.toThrow('ECONNREFUSED');
  });
});
