import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import type { FeedbackMlSettings } from '../../config/feedback-ml.settings';
import { FeedbackMetrics } from '../../metrics/feedback-metrics';
import { ActiveModel } from '../../ml/active-model';
import { trainAndEvaluate, type TrainingExample } from '../../ml/quality-model';
import { FeedbackRepository } from '../../repositories/feedback.repository';
import { ModelRepository } from '../../repositories/model.repository';
import { FEATURE_NAMES, featureRow, type FeatureVector } from '../../scoring/features';

export type RetrainOutcome =
  | { status: 'insufficient_data'; ratings: number; needed: number }
  | { status: 'busy'; reason: string }
  | {
      status: 'trained';
      version: number;
      promoted: boolean;
      reason: string;
      trainingSize: number;
      holdoutSize: number;
      mae: number;
      baselineMae: number;
      activeMae?: number;
    };

/**
 * The seed's ML pipeline: with at least ML_MIN_RATINGS ratings from the last ML_WINDOW_DAYS days,
 * trains a random forest on the seed's features (target: rating x 2), stores the version with its
 * hold-out MAE and the mean baseline's, and activates it only if it beats the active model on the same
 * hold-out. One replica trains at a time (advisory lock); scoring keeps using the active model meanwhile.
 */
@Injectable()
export class RetrainModelUseCase {
  private readonly settings: FeedbackMlSettings;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly feedback: FeedbackRepository,
    private readonly models: ModelRepository,
    private readonly active: ActiveModel,
    private readonly metrics: FeedbackMetrics,
  ) {
    this.settings = settingsOf<FeedbackMlSettings>(ctx);
  }

  async execute(opts: { seed?: number } = {}): Promise<RetrainOutcome> {
    const holder = randomUUID();
    const got = await this.ctx.db.query<{ id: number }>(
      `UPDATE ml_training_lease SET holder = $1, until = now() + interval '15 minutes'
        WHERE id = 1 AND until < now() RETURNING id`,
      [holder],
    );
    if (got.length === 0) return { status: 'busy', reason: 'another replica is training' };
    try {
      const rows = await this.feedback.trainingSet(this.settings.ML_WINDOW_DAYS);
      if (rows.length < this.settings.ML_MIN_RATINGS)
        return { status: 'insufficient_data', ratings: rows.length, needed: this.settings.ML_MIN_RATINGS };
      const examples: TrainingExample[] = rows.map((r) => ({
        row: featureRow(r.features as FeatureVector),
        target: r.rating * 2,
      }));
      await this.active.refresh();
      const current = this.active.get();
      // Let pending I/O (scoring) run before the CPU-bound fit.
      await new Promise((r) => setImmediate(r));
      const outcome = trainAndEvaluate(examples, { seed: opts.seed ?? Date.now() % 2 ** 31, active: current?.model });
      const version = await this.models.record({
        algorithm: outcome.model.algorithm,
        features: FEATURE_NAMES,
        trainingSize: outcome.trainingSize,
        holdoutSize: outcome.holdoutSize,
        mae: outcome.mae,
        baselineMae: outcome.baselineMae,
        activeMae: outcome.activeMae,
        promoted: outcome.promote,
        reason: outcome.reason,
        model: outcome.model.toJSON(),
      });
      this.metrics.modelMae.set({ kind: 'model' }, outcome.mae);
      this.metrics.modelMae.set({ kind: 'baseline' }, outcome.baselineMae);
      if (outcome.promote) {
        await this.active.refresh();
        this.metrics.modelVersion.set(version);
      }
      this.ctx.logger.info(
        { version, promoted: outcome.promote, mae: outcome.mae, baselineMae: outcome.baselineMae },
        'quality model trained',
      );
      return {
        status: 'trained',
        version,
        promoted: outcome.promote,
        reason: outcome.reason,
        trainingSize: outcome.trainingSize,
        holdoutSize: outcome.holdoutSize,
        mae: outcome.mae,
        baselineMae: outcome.baselineMae,
        activeMae: outcome.activeMae,
      };
    } finally {
      await this.ctx.db.query(`UPDATE ml_training_lease SET holder = NULL, until = 'epoch' WHERE holder = $1`, [
        holder,
      ]);
    }
  }
}
