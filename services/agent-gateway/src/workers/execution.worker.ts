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
 */
@Injectable()
export class ExecutionWorker implements OnModuleDestroy {
  private readonly settings: AgentGatewaySettings;
  private readonly waiting: string[] = [];
  private readonly known = new Set<string>();
  private running = 0;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private readonly active = new Set<Promise<void>>();

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
    if (this.timer) clearInterval(this.timer);
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
      for (const id of await this.repository.pending(500)) this.kick(id);
    } catch (error) {
      this.ctx.logger.warn({ err: error }, 'cannot read pending executions');
    }
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
    const claimed = await this.repository.claim(id, this.leaseSeconds);
    if (!claimed) return;
    await withTraceContext(claimed.traceContext, () =>
      executionSpan(
        claimed.agent ?? '',
        claimed.command ?? '',
        {
          'hishamos.execution_id': claimed.id,
          'hishamos.run_id': claimed.runId ?? '',
          'hishamos.step_id': claimed.stepId ?? '',
          'hishamos.attempt': claimed.attempt ?? 0,
        },
        () => this.execute(claimed),
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
    try {
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
      await this.executeCommand.run(prepared, claimed);
    } catch (error) {
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
      await this.recorder.record({ record: failed, usage: false, completed: true });
    }
  }
}
