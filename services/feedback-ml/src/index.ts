import { Topics } from '@hishamos/contracts';
import type { INestApplication } from '@nestjs/common';
import { ApiError, settingsOf, type ServiceContext, type ServiceDefinition } from '@hishamos/platform';
import { NonRetryableError } from '@hishamos/messaging';
import { FeedbackMlSettings } from './config/feedback-ml.settings';
import { FeedbackMlModule } from './feedback-ml.module';
import { FeedbackMetrics } from './metrics/feedback-metrics';
import { ActiveModel } from './ml/active-model';
import { QualityRepository } from './repositories/quality.repository';
import { RetrainModelUseCase } from './usecases/retrain-model/retrain-model.usecase';
import { ScoreExecutionUseCase } from './usecases/score-execution/score-execution.usecase';
import { SubmitFeedbackUseCase } from './usecases/submit-feedback/submit-feedback.usecase';

async function onStart(ctx: ServiceContext, app: INestApplication): Promise<void> {
  const settings = settingsOf<FeedbackMlSettings>(ctx);
  const score = app.get(ScoreExecutionUseCase);
  const submit = app.get(SubmitFeedbackUseCase);
  const active = app.get(ActiveModel);
  const metrics = app.get(FeedbackMetrics);
  const quality = app.get(QualityRepository);
  await active.refresh();
  metrics.modelVersion.set(active.get()?.version ?? 0);
  await ctx.subscribe(Topics.ExecutionCompleted, async (event, { tx, outbox }) => {
    await score.execute(event.payload, tx, outbox);
  });
  // Ratings from other services: the same rules as the API, the rating's user as the identity.
  await ctx.subscribe(Topics.FeedbackSubmitted, async (event, { tx }) => {
    const p = event.payload;
    if (!p.executionId || !p.userId) throw new NonRetryableError('execution_id and user_id are required');
    try {
      await submit.execute(
        {
          executionId: p.executionId,
          userId: p.userId,
          identity: { kind: 'service', subject: event.attributes.source, roles: [], via: 'service' },
          body: { rating: p.rating, text: p.text, issues: [...p.issues] },
          source: 'event',
        },
        tx,
      );
    } catch (e) {
      // Bad ratings never succeed on retry; an unknown execution may (its result may not be here yet).
      if (e instanceof ApiError && e.status !== 404) throw new NonRetryableError(e.message);
      throw e;
    }
  });
  const timers: NodeJS.Timeout[] = [];
  // Other replicas' promotions, and the average-quality gauge.
  timers.push(
    setInterval(() => {
      active
        .refresh()
        .then(() => metrics.modelVersion.set(active.get()?.version ?? 0))
        .catch(() => undefined);
      quality
        .averages({})
        .then((rows) => rows.forEach((r) => metrics.average.set({ agent: r.agent, command: r.command }, r.average)))
        .catch(() => undefined);
    }, 30_000),
  );
  if (settings.ML_RETRAIN_INTERVAL_MINUTES > 0) {
    const retrain = app.get(RetrainModelUseCase);
    timers.push(
      setInterval(() => {
        retrain.execute().catch((e: Error) => ctx.logger.warn({ err: e.message }, 'scheduled retraining failed'));
      }, settings.ML_RETRAIN_INTERVAL_MINUTES * 60_000),
    );
  }
  for (const t of timers) t.unref();
  app.getHttpServer().once('close', () => timers.forEach(clearInterval));
}

export const definition: ServiceDefinition = {
  name: 'feedback-ml',
  consumes: [Topics.ExecutionCompleted, Topics.FeedbackSubmitted],
  publishes: [Topics.QualityScored],
  settings: FeedbackMlSettings,
  module: FeedbackMlModule,
  onStart,
};
