import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';

/** feedback-ml's series; labels are agents and commands from the catalog (bounded), never users. */
@Injectable()
export class FeedbackMetrics {
  readonly score: Histogram<'agent'>;
  readonly average: Gauge<'agent' | 'command'>;
  readonly ratings: Counter<'rating'>;
  readonly modelVersion: Gauge;
  readonly modelMae: Gauge<'kind'>;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    const registers = [ctx.metrics.registry];
    this.score = new Histogram({
      name: 'hishamos_quality_score',
      help: 'Quality score (0-10) of each scored execution, by agent',
      labelNames: ['agent'],
      buckets: [2, 4, 5, 6, 7, 8, 9, 10],
      registers,
    });
    this.average = new Gauge({
      name: 'hishamos_quality_average',
      help: 'Running average quality score by agent and command',
      labelNames: ['agent', 'command'],
      registers,
    });
    this.ratings = new Counter({
      name: 'hishamos_feedback_ratings_total',
      help: 'User ratings received, by rating (1-5)',
      labelNames: ['rating'],
      registers,
    });
    this.modelVersion = new Gauge({
      name: 'hishamos_quality_model_version',
      help: 'Active quality model version (0: heuristic only)',
      registers,
    });
    this.modelMae = new Gauge({
      name: 'hishamos_quality_model_mae',
      help: 'Hold-out mean absolute error of the last trained model and of the mean baseline',
      labelNames: ['kind'],
      registers,
    });
    for (const r of ['1', '2', '3', '4', '5']) this.ratings.inc({ rating: r }, 0);
    this.modelVersion.set(0);
  }
}
