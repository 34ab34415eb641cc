import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  ApiError,
  SERVICE_CONTEXT,
  settingsOf,
  type Identity,
  type Role,
  type ServiceContext,
} from '@hishamos/platform';
import type { AgentGatewaySettings } from '../config/agent-gateway.settings';
import { Backoff, isConnectionError, untilConnected } from '../execution/database-retry';
import { ExecutionRecorder } from '../repositories/execution-recorder';
import { ExecutionRepository, type ExecutionRecord } from '../repositories/execution.repository';
import { executionSpan, withTraceContext } from '../tracing/trace-context';
import { errorCodeOf, ExecuteCommandUseCase } from '../usecases/execute-command/execute-command.usecase';

/**
 * Runs queued executions (ExecutionRequested events, `?async=true` requests) on a bounded number of
 * workers. A worker claims an execution with a lease; a gateway that crashes mid-run leaves it
 * `running` until the lease runs out, then any replica takes it over (the reservation and the usage
 * record are idempotent by execution id, so a re-run never charges twice). Each execution runs in the
 * trace it was queued in (stored with it), in an `execute <agent>/<command>` span, so its
 * ExecutionCompleted and UsageRecorded continue the requester's trace.
 *
 * A database outage (or another connection-level failure) does not fail an execution: its worker keeps
 * it and repeats the work that failed with capped backoff (200 ms doubling to 5 s) until the database
 * answers — the claim, the preparation before the provider call (catalog, knowledge, provider chain,
 * budget reservation), and the outcome's write (ExecutionRecorder). The provider is called once: the
 * retries happen before the call or after it, never around it, and a worker that had to wait renews its
 * lease first, giving the execution up if another worker took it over meanwhile. Polling for pending
 * executions backs off the same way while the database is away.
 */
@Injectable()
export class ExecutionWorker implements OnModuleDestroy {
  private readonly settings: AgentGatewaySettings;
  private readonly waiting: string[] = [];
  private readonly known = new Set<string>();
  private running = 0;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private readonly active = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly pollBackoff = new Backoff();
  private outageSince?: number;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repository: ExecutionRepository,
    private readonly recorder: ExecutionRecorder,
    private readonly executeCommand: ExecuteCommandUseCase,
  ) {
    this.settings = settingsOf<AgentGatewaySettings>(ctx);
  }

  private get leaseSeconds(): number {
    return Math.max(
      this.settings.EXECUTION_LEASE_SECONDS,
      Math.ceil(this.settings.PROVIDER_TOTAL_TIMEOUT_MS / 1000) + 60,
    );
  }

  /** Picks up what is pending now (after a restart) and checks again every 30 s. */
  start(): void {
    if (this.timer) return;
    void this.resume();
    this.timer = setInterval(() => void this.resume(), 30_000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await Promise.allSettled([...this.active]);
  }

  /** Runs the execution soon (when a worker is free). */
  kick(id: string): void {
    if (this.stopped || this.known.has(id)) return;
    this.known.add(id);
    this.waiting.push(id);
    this.pump();
  }

  /** Queues every pending execution (queued, or running with an expired lease). */
  async resume(): Promise<void> {
    try {
      const pending = await this.repository.pending(500);
      this.pollBackoff.reset();
      this.recovered();
      for (const id of pending) this.kick(id);
    } catch (error) {
      if (!isConnectionError(error)) {
        this.ctx.logger.warn({ err: error }, 'cannot read pending executions');
        return;
      }
      // The database is away: look again soon (capped backoff), not only at the next 30 s tick.
      this.outage(error);
      if (this.stopped || this.retryTimer) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.resume();
      }, this.pollBackoff.delay());
      this.retryTimer.unref();
    }
  }

  /** Logs the start of a database outage once (not each retry). */
  private outage(error: unknown): void {
    if (this.outageSince !== undefined) return;
    this.outageSince = Date.now();
    this.ctx.logger.warn({ err: error }, 'executions wait: the database is unreachable; retrying until it answers');
  }

  private recovered(): void {
    if (this.outageSince === undefined) return;
    this.ctx.logger.info({ outageMs: Date.now() - this.outageSince }, 'the database answers again');
    this.outageSince = undefined;
  }

  /** Repeats `fn` after connection-level failures until it succeeds or the worker stops. */
  private untilConnected<T>(fn: () => Promise<T>, onRetry?: () => void): Promise<T> {
    return untilConnected(fn, {
      signal: this.stopping.signal,
      onRetry: (error) => {
        this.outage(error);
        onRetry?.();
      },
    });
  }

  private pump(): void {
    while (!this.stopped && this.running < this.settings.EXECUTION_WORKERS && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.running++;
      const p = this.runOne(id)
        .catch((error) => this.ctx.logger.error({ err: error, executionId: id }, 'execution worker failed'))
        .finally(() => {
          this.running--;
          this.known.delete(id);
          this.active.delete(p);
          this.pump();
        });
      this.active.add(p);
    }
  }

  private async runOne(id: string): Promise<void> {
    let claimed: ExecutionRecord | undefined;
    try {
      claimed = await this.untilConnected(() => this.repository.claim(id, this.leaseSeconds));
    } catch (error) {
      if (this.stopped && isConnectionError(error)) return; // still queued: the next start takes it
      throw error;
    }
    if (!claimed) return;
    const execution = claimed;
    await withTraceContext(execution.traceContext, () =>
      executionSpan(
        execution.agent ?? '',
        execution.command ?? '',
        {
          'hishamos.execution_id': execution.id,
          'hishamos.run_id': execution.runId ?? '',
          'hishamos.step_id': execution.stepId ?? '',
          'hishamos.attempt': execution.attempt ?? 0,
        },
        () => this.execute(execution),
      ),
    );
  }

  private async execute(claimed: ExecutionRecord): Promise<void> {
    const id = claimed.id;
    const started = Date.now();
    const request = claimed.request ?? { inputs: {} };
    const service = claimed.userId.startsWith('service:');
    const identity: Identity = {
      kind: service ? 'service' : 'user',
      subject: service ? claimed.userId.slice('service:'.length) : claimed.userId,
      roles: (request.roles ?? []) as Role[],
      teamId: claimed.teamId,
      via: 'forwarded',
    };
    let waited = false;
    try {
      // Before the provider call: all of it may be repeated while the database is away.
      const staged = await this.untilConnected(
        async () => {
          if (request.deadline && Date.parse(request.deadline) < Date.now())
            throw new ApiError(
              504,
              'timeout',
              `the execution's deadline (${request.deadline}) passed before it could start`,
            );
          const prepared = await this.executeCommand.prepare(
            {
              agent: claimed.agent ?? '',
              command: claimed.command ?? '',
              inputs: request.inputs ?? {},
              version: request.version,
              label: request.label,
              provider: request.provider,
              model: request.model,
              maxTokens: request.maxTokens,
              knowledgeTopK: request.knowledgeTopK,
              executionId: claimed.id,
              idempotencyKey: claimed.idempotencyKey,
              runId: claimed.runId,
              stepId: claimed.stepId,
              attempt: claimed.attempt,
            },
            { identity, via: claimed.via },
          );
          return this.executeCommand.stage(prepared, claimed);
        },
        () => (waited = true),
      );
      if (waited) {
        // The lease may have run out while we waited: go on only if the execution is still ours.
        const token = claimed.leaseToken;
        const ours =
          token === undefined || (await this.untilConnected(() => this.repository.renew(id, token, this.leaseSeconds)));
        this.recovered();
        if (!ours) {
          this.ctx.logger.info(
            { executionId: id },
            'execution taken over by another worker while the database was away',
          );
          return;
        }
      }
      await this.executeCommand.call(staged);
    } catch (error) {
      if (this.stopped && isConnectionError(error)) {
        // Stopping mid-outage: the execution stays running under its lease; another worker resumes it.
        this.ctx.logger.warn({ executionId: id }, 'execution left to its lease: stopping while the database is away');
        return;
      }
      const failure = errorCodeOf(error);
      if (failure.code === 'internal_error') this.ctx.logger.error({ err: error, executionId: id }, 'execution failed');
      const failed: ExecutionRecord = {
        ...claimed,
        status: 'failed',
        errorCode:
          failure.code === 'timeout' || (error instanceof ApiError && error.code === 'timeout')
            ? 'timeout'
            : failure.code,
        errorMessage: failure.message,
        retryable: failure.retryable,
        durationMs: Date.now() - started,
        completedAt: new Date().toISOString(),
      };
      try {
        await this.recorder.record({ record: failed, usage: false, completed: true });
      } catch (e) {
        if (!(this.stopped && isConnectionError(e))) throw e;
        this.ctx.logger.warn({ executionId: id }, 'execution left to its lease: stopping while the database is away');
      }
    }
  }
}
