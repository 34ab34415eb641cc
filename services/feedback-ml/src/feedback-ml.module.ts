import { Inject, Module } from '@nestjs/common';
import { SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import { CommandCatalog } from './catalog/command-catalog';
import type { FeedbackMlSettings } from './config/feedback-ml.settings';
import { FeedbackController } from './controllers/feedback.controller';
import { MlController } from './controllers/ml.controller';
import { FeedbackMetrics } from './metrics/feedback-metrics';
import { ActiveModel } from './ml/active-model';
import { FeedbackRepository } from './repositories/feedback.repository';
import { ModelRepository } from './repositories/model.repository';
import { QualityRepository } from './repositories/quality.repository';
import { SuggestionRepository } from './repositories/suggestion.repository';
import { DraftTemplateUseCase } from './usecases/draft-template/draft-template.usecase';
import { OptimizeTemplatesUseCase } from './usecases/optimize-templates/optimize-templates.usecase';
import { RetrainModelUseCase } from './usecases/retrain-model/retrain-model.usecase';
import { COMMAND_CATALOG, ScoreExecutionUseCase } from './usecases/score-execution/score-execution.usecase';
import { SubmitFeedbackUseCase } from './usecases/submit-feedback/submit-feedback.usecase';

/** The feedback-ml service: quality scoring, ratings, the retrained model and template suggestions. */
@Module({
  controllers: [FeedbackController, MlController],
  providers: [
    {
      provide: COMMAND_CATALOG,
      inject: [SERVICE_CONTEXT],
      useFactory: (ctx: ServiceContext) => new CommandCatalog(settingsOf<FeedbackMlSettings>(ctx).SEEDS_DIR),
    },
    FeedbackMetrics,
    ActiveModel,
    QualityRepository,
    FeedbackRepository,
    ModelRepository,
    SuggestionRepository,
    ScoreExecutionUseCase,
    SubmitFeedbackUseCase,
    RetrainModelUseCase,
    OptimizeTemplatesUseCase,
    DraftTemplateUseCase,
  ],
})
export class FeedbackMlModule {
  constructor(@Inject(SERVICE_CONTEXT) readonly ctx: ServiceContext) {}
}
