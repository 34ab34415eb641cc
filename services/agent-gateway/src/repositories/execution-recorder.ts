import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { ExecutionStatus, Topics, type PayloadInit } from '@hishamos/contracts';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { BUDGET, meteringReservationId, type BudgetPort } from '../budget/budget.port';
import { Backoff, isConnectionError, sleep } from '../execution/database-retry';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { currentTraceContext, withoutTraceContext, type TraceCarrier } from '../tracing/trace-context';
import { ExecutionRepository, type ExecutionRecord } from './execution.repository';

/** A finished call to write: the execution row, and which events go with it. */
export interface FinishedExecution {
  record: ExecutionRecord;
  /** Publish UsageRecorded (the call used tokens). */
  usage: boolean;
  /** Publish ExecutionCompleted (agent command executions and agent-model chat completions). */
  completed: boolean;
  /**
   * The trace its events belong to (W3C headers). `record` takes the caller's active context when
   * absent, so each call's events keep its own trace even when several calls share one transaction.
   */
  trace?: TraceCarrier;
}

export function usageRecordedOf(r: ExecutionRecord, occurredAt = new Date()): PayloadInit<typeof Topics.UsageRecorded> {
  return {
    requestId: r.id,
    userId: r.userId,
    teamId: r.teamId ?? '',
    agent: r.agent ?? '',
    command: r.command ?? '',
    provider: r.provider ?? '',
    model: r.model ?? '',
    usage: {
      inputTokens: BigInt(r.inputTokens),
      outputTokens: BigInt(r.outputTokens),
      cachedInputTokens: BigInt(r.cachedInputTokens),
    },
    occurredAt: timestampFromDate(occurredAt),
    runId: r.runId ?? '',
    templateVersion: r.templateVersion !== undefined ? String(r.templateVersion) : '',
    reservationId: meteringReservationId(r.reservationId),
    streamed: r.streamed,
    currency: 'USD',
  };
}

export function executionCompletedOf(r: ExecutionRecord): PayloadInit<typeof Topics.ExecutionCompleted> {
  return {
    executionId: r.id,
    idempotencyKey: r.idempotencyKey ?? '',
    runId: r.runId ?? '',
    stepId: r.stepId ?? '',
    attempt: r.attempt ?? 0,
    userId: r.userId,
    teamId: r.teamId ?? '',
    agent: r.agent ?? '',
    command: r.command ?? '',
    status: r.status === 'succeeded' ? ExecutionStatus.SUCCEEDED : ExecutionStatus.FAILED,
    output: r.output ?? '',
    sections: r.sections ?? {},
    errorCode: r.errorCode ?? '',
    errorMessage: r.errorMessage ?? '',
    retryable: r.retryable ?? false,
    provider: r.provider ?? '',
    model: r.model ?? '',
    usage: {
      inputTokens: BigInt(r.inputTokens),
      outputTokens: BigInt(r.outputTokens),
      cachedInputTokens: BigInt(r.cachedInputTokens),
    },
    durationMs: BigInt(r.durationMs ?? 0),
    templateVersion: r.templateVersion !== undefined ? String(r.templateVersion) : '',
    offline: r.offline,
    prompt: r.prompt ?? '',
  };
}

/** Events of one run stay in order; otherwise a user's. */
export const completedKey = (r: ExecutionRecord) => r.runId || r.userId;

interface Pending {
  item: FinishedExecution;
  resolve: (written: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes finished executions: the execution row, UsageRecorded and ExecutionCompleted in ONE
 * transaction (through the outbox). Calls that finish while a write is in flight are written together
 * in the next transaction (group commit): each caller still waits for its own commit.
 *
 * While the database cannot be reached (a connection-level error: restarted, unreachable) the
 * finished executions stay queued and the write is retried with capped backoff (200 ms doubling to
 * 5 s) until it commits — the provider was already paid for, so the result and its usage must be
 * written, and exactly once: a retried write of a row that did commit (the commit's answer was lost)
 * finds it finished and writes no second UsageRecorded. Only stopping the gateway ends the retries
 * (the callers get the error; the execution's lease hands it to another worker).
 */
@Injectable()
export class ExecutionRecorder implements OnModuleDestroy {
  private queue: Pending[] = [];
  private flushing?: Promise<void>;
  private static readonly MAX_BATCH = 256;
  private readonly stopping = new AbortController();
  private readonly backoff = new Backoff();
  private outageSince?: number;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repository: ExecutionRepository,
    private readonly metrics: GatewayMetrics,
    @Optional() @Inject(BUDGET) private readonly budget?: BudgetPort,
  ) {}

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.flushing;
  }

  /** Resolves once committed: true when written, false when the execution had finished already. */
  record(item: FinishedExecution): Promise<boolean> {
    // `{}`: the caller had no trace (its events must not take the trace of the batch's first caller).
    const traced: FinishedExecution = item.trace ? item : { ...item, trace: currentTraceContext() ?? {} };
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ item: traced, resolve, reject });
      if (!this.flushing) this.flushing = this.flush().finally(() => (this.flushing = undefined));
    });
  }

  /** The stored execution (after `record` said another writer finished it first). */
  stored(id: string): Promise<ExecutionRecord | undefined> {
    return this.repository.get(id);
  }

  /**
   * Writes in the caller's transaction (a consumer's), with the same events. Each event carries its
   * own item's trace context (the caller's active one for items without), not that of whichever call
   * happened to start the group commit.
   */
  async recordIn(tx: SqlExecutor, items: FinishedExecution[]): Promise<Set<string>> {
    const active = currentTraceContext();
    if (this.budget?.usageRecorded)
      for (const { record: r } of items)
        if (r.reservationId)
          this.budget.usageRecorded(r.reservationId, {
            inputTokens: r.inputTokens,
            outputTokens: r.outputTokens,
            cachedInputTokens: r.cachedInputTokens,
          });
    const written = await this.repository.writeFinished(
      items.map((i) => i.record),
      tx,
    );
    const mine = items.filter((i) => written.has(i.record.id));
    const now = new Date();
    const usage = mine.filter((i) => i.usage);
    const completed = mine.filter((i) => i.completed);
    const options = (i: FinishedExecution, key: string) => ({ key, headers: { ...(i.trace ?? active) } });
    await withoutTraceContext(async () => {
      if (usage.length)
        await this.ctx.outbox.addMany(
          tx,
          Topics.UsageRecorded,
          usage.map((i) => usageRecordedOf(i.record, now)),
          usage.map((i) => options(i, i.record.userId)),
        );
      if (completed.length)
        await this.ctx.outbox.addMany(
          tx,
          Topics.ExecutionCompleted,
          completed.map((i) => executionCompletedOf(i.record)),
          completed.map((i) => options(i, completedKey(i.record))),
        );
    });
    return written;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, ExecutionRecorder.MAX_BATCH);
      let failed: unknown;
      try {
        const written = await this.write(batch);
        for (const p of batch) this.settled(p, written.has(p.item.record.id));
        this.connected();
        continue;
      } catch (error) {
        failed = error;
      }
      if (isConnectionError(failed)) {
        await this.retryLater(batch, failed);
        continue;
      }
      if (batch.length === 1) {
        batch[0].reject(failed);
        continue;
      }
      // One bad row must not fail the others: write them one by one.
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i];
        try {
          const written = await this.write([p]);
          this.settled(p, written.has(p.item.record.id));
        } catch (e) {
          if (!isConnectionError(e)) {
            p.reject(e);
            continue;
          }
          await this.retryLater(batch.slice(i), e);
          break;
        }
      }
    }
  }

  private write(batch: Pending[]): Promise<Set<string>> {
    return this.ctx.db.transaction((tx) =>
      this.recordIn(
        tx,
        batch.map((p) => p.item),
      ),
    );
  }

  /**
   * The database cannot be reached: puts the batch back at the head of the queue and waits (capped
   * backoff). When the gateway is stopping, fails the queued calls with the error instead.
   */
  private async retryLater(batch: Pending[], error: unknown): Promise<void> {
    this.queue.unshift(...batch);
    if (this.stopping.signal.aborted) {
      for (const p of this.queue.splice(0)) p.reject(error);
      return;
    }
    const delay = this.backoff.delay();
    if (this.outageSince === undefined) {
      this.outageSince = Date.now();
      this.ctx.logger.warn(
        { err: error, pending: this.queue.length },
        'cannot write finished executions: the database is unreachable; retrying until it answers',
      );
    }
    await sleep(delay, this.stopping.signal);
    if (this.stopping.signal.aborted) for (const p of this.queue.splice(0)) p.reject(error);
  }

  private connected(): void {
    this.backoff.reset();
    if (this.outageSince === undefined) return;
    this.ctx.logger.info(
      { outageMs: Date.now() - this.outageSince },
      'the database answers again: finished executions written',
    );
    this.outageSince = undefined;
  }

  private settled(p: Pending, written: boolean): void {
    if (written) this.count(p.item);
    p.resolve(written);
  }

  /** Counts a written execution in the metrics (executions by agent and status, tokens). */
  count(item: FinishedExecution): void {
    const r = item.record;
    if (r.kind === 'command' && r.agent) this.metrics.executions.inc({ agent: r.agent, status: r.status });
    if (item.usage && r.provider && r.model)
      this.metrics.countTokens(r.provider, r.model, {
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        cachedInputTokens: r.cachedInputTokens,
      });
  }
}
