import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import { settingsOf, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { AlertingSettings } from './config/alerting.settings';
import { DeliveryWorker } from './engine/delivery.worker';
import { EvaluationTicker } from './engine/evaluation.ticker';
import { RuleCache } from './engine/rule-cache';
import { RULE_TOPICS, toAlertEvent } from './events/event-mapper';
import { CHANNEL_SECRETS, type ChannelSecrets } from './secrets/channel-secrets';
import { EvaluateEventCommand, EvaluateEventUseCase } from './usecases/evaluate-event/evaluate-event.usecase';
import { NotifyUserCommand, NotifyUserUseCase } from './usecases/notify-user/notify-user.usecase';
import { RecordSignalCommand, RecordSignalUseCase } from './usecases/record-signal/record-signal.usecase';
import { SeedDefaultsCommand, SeedDefaultsUseCase } from './usecases/seed-defaults/seed-defaults.usecase';

/**
 * Starts what runs without a request: the defaults seed, the consumers (one per topic the rules watch,
 * plus this replica's own subscription to secret rotations), the delivery worker, the evaluation
 * ticker and the pool sampler.
 */
@Injectable()
export class AlertingRuntime implements OnModuleDestroy {
  private sampler?: NodeJS.Timeout;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly seed: SeedDefaultsUseCase,
    private readonly evaluate: EvaluateEventUseCase,
    private readonly notifyUser: NotifyUserUseCase,
    private readonly recordSignal: RecordSignalUseCase,
    private readonly worker: DeliveryWorker,
    private readonly ticker: EvaluationTicker,
    private readonly cache: RuleCache,
    @Inject(CHANNEL_SECRETS) private readonly secrets: ChannelSecrets,
  ) {}

  async start(): Promise<void> {
    const ctx = this.ctx;
    const settings = settingsOf<AlertingSettings>(ctx);
    if (settings.ALERTING_SEED_DEFAULTS) await this.seed.execute(new SeedDefaultsCommand());
    this.worker.start();
    for (const topic of RULE_TOPICS) {
      await ctx.subscribe(topic, async (envelope, { tx, outbox }) => {
        const event = toAlertEvent(envelope);
        await this.notifyUser.execute(new NotifyUserCommand({ ...event, tx }));
        await this.evaluate.execute(new EvaluateEventCommand({ ...event, source: 'event', tx, outbox }));
      });
    }
    // Every replica must drop its own cached credential, so each also has its own group for rotations
    // (the service's shared group alone would reach one replica only).
    await ctx.subscribe(Topics.SecretRotated, async (e) => this.secrets.invalidate(e.payload.path));
    const instance = `${hostname()
      .replace(/[^a-zA-Z0-9-]/g, '')
      .slice(0, 30)}-${randomBytes(4).toString('hex')}`;
    // Namespaced by the topic prefix like every other group (two installs on one broker never share one).
    const prefix = ctx.config.KAFKA_TOPIC_PREFIX ? `${ctx.config.KAFKA_TOPIC_PREFIX}.` : '';
    const group = `${prefix}hishamos.alerting.secret-cache.${instance}`;
    await ctx.bus.subscribe(group, Topics.SecretRotated, ctx.db, async (e) => {
      this.secrets.invalidate(e.payload.path);
    });
    this.ticker.start();
    if (settings.ALERTING_DB_POOL_SAMPLE_MS > 0) {
      this.sampler = setInterval(() => {
        this.recordSignal
          .execute(
            new RecordSignalCommand({ type: 'db_pool', service: ctx.name, fields: { usage: ctx.db.poolUsage() } }),
          )
          .catch((error) => ctx.logger.debug({ err: (error as Error).message }, 'pool sample failed'));
      }, settings.ALERTING_DB_POOL_SAMPLE_MS);
      this.sampler.unref();
    }
    ctx.addReadinessCheck('alert-rules', async () => {
      const snapshot = await this.cache.current();
      let enabled = 0;
      for (const list of snapshot.byType.values()) enabled += list.length;
      return { ok: true, enabled, revision: snapshot.revision };
    });
  }

  onModuleDestroy(): void {
    if (this.sampler) clearInterval(this.sampler);
  }
}
