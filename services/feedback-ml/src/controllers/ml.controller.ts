import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { ModelRepository } from '../repositories/model.repository';
import { QualityRepository } from '../repositories/quality.repository';
import { SuggestionRepository } from '../repositories/suggestion.repository';
import { DraftTemplateUseCase } from '../usecases/draft-template/draft-template.usecase';
import { OptimizeTemplatesUseCase } from '../usecases/optimize-templates/optimize-templates.usecase';
import { RetrainModelUseCase } from '../usecases/retrain-model/retrain-model.usecase';

/** Quality averages, model versions, on-demand retraining and template suggestions. */
@Controller('v1')
export class MlController {
  constructor(
    private readonly quality: QualityRepository,
    private readonly models: ModelRepository,
    private readonly suggestions: SuggestionRepository,
    private readonly retrain: RetrainModelUseCase,
    private readonly optimize: OptimizeTemplatesUseCase,
    private readonly draft: DraftTemplateUseCase,
  ) {}

  @Get('quality/averages')
  async averages(@Query('agent') agent?: string) {
    return { items: await this.quality.averages({ agent }) };
  }

  @RequireRoles('admin', 'operator')
  @Get('ml/models')
  async listModels() {
    return { items: await this.models.list() };
  }

  @RequireRoles('admin')
  @Post('ml/retrain')
  @HttpCode(200)
  async retrainNow() {
    return this.retrain.execute();
  }

  @RequireRoles('admin', 'operator')
  @Get('suggestions')
  async listSuggestions(@Query('status') status?: string) {
    return { items: await this.suggestions.list(status) };
  }

  @RequireRoles('admin')
  @Post('suggestions/run')
  @HttpCode(200)
  async runOptimiser() {
    return { items: await this.optimize.execute() };
  }

  @RequireRoles('admin')
  @Post('suggestions/:id/draft')
  @HttpCode(201)
  async toDraft(@Param('id') id: string, @CurrentIdentity() identity: Identity) {
    return this.draft.execute(id, identity.subject);
  }

  @RequireRoles('admin')
  @Post('suggestions/:id/dismiss')
  @HttpCode(204)
  async dismiss(@Param('id') id: string) {
    await this.suggestions.dismiss(id);
  }
}
