import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { settingsOf, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { AlertingSettings } from '../config/alerting.settings';
import { MAX_WINDOW_SECONDS } from '../domain/rule-definition';
import { AlertStatesRepository } from '../repositories/alert-states.repository';
import { MetricSamplesRepository } from '../repositories/metric-samples.repository';
import { AlertEngine } from './alert-engine';
import { RuleCache } from './rule-cache';
import { RuleEvaluator } from './rule-evaluator';

/**
 * Time-driven evaluation, every ALERTING_EVALUATION_INTERVAL_MS: metric rules' windows slide without new
 * events (so conditions clear and resolve), alerts that started during a cooldown are notified once it
 * ends if they still hold, and old samples are pruned. One replica at a time does each part (advisory
 * locks); the decisions themselves are as safe as the event path's (row locks).
 */
@Injectable()
export class EvaluationTicker implements OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly cache: RuleCache,
    private readonly evaluator: RuleEvaluator,
    private readonly engine: AlertEngine,
    private readonly states: AlertStatesRepository,
    private readonly samples: MetricSamplesRepository,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = settingsOf<AlertingSettings>(this.ctx).ALERTING_EVALUATION_INTERVAL_MS;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((error) => this.ctx.logger.warn({ err: (error as Error).message }, 'alert evaluation tick failed'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, every);
    this.timer.unref();
  }

  /** One pass (tests and the bench call it directly). */
  async tick(): Promise<{ pending: number; metric: number }> {
    const result = { pending: 0, metric: 0 };
    // Pending alerts whose cooldown is over.
    result.pending = await transactionWithHooks(this.ctx.db, async (tx) => {
      let n = 0;
      for (const state of await this.states.dueToNotify(tx, 100))
        if (await this.engine.notifyPending(tx, this.ctx.outbox, state)) n++;
      return n;
    });
    const snapshot = await this.cache.current();
    for (const rules of snapshot.byType.values()) {
      for (const rule of rules) {
        if (!rule.metric || this.stopped) continue;
        result.metric += await transactionWithHooks(this.ctx.db, async (tx) => {
          const [lock] = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok`, [
            `alerting:metric:${rule.id}`,
          ]);
          if (!lock?.ok) return 0;
          const n = await this.evaluator.evaluateMetricRule(tx, this.ctx.outbox, rule);
          await this.samples.prune(tx, rule.id, rule.metric!.windowSeconds + 3600);
          return n;
        });
      }
    }
    await this.samples.pruneOlderThan(this.ctx.db, MAX_WINDOW_SECONDS + 86400);
    return result;
  }
}
