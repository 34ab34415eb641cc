import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiError, CurrentIdentity, SERVICE_CONTEXT, type Identity, type ServiceContext } from '@hishamos/platform';
import { FeedbackRepository } from '../repositories/feedback.repository';
import { QualityRepository } from '../repositories/quality.repository';
import { SubmitFeedbackCommand } from '../usecases/submit-feedback/submit-feedback.command';
import { maySee, SubmitFeedbackUseCase } from '../usecases/submit-feedback/submit-feedback.usecase';

/** Ratings of execution outputs and their quality scores. */
@Controller('v1')
export class FeedbackController {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly submit: SubmitFeedbackUseCase,
    private readonly feedback: FeedbackRepository,
    private readonly quality: QualityRepository,
  ) {}

  @Post('executions/:id/feedback')
  @HttpCode(201)
  async rate(@Param('id') id: string, @Body() body: SubmitFeedbackCommand, @CurrentIdentity() identity: Identity) {
    if (identity.kind !== 'user') throw ApiError.forbidden('feedback comes from a person', 'forbidden');
    return this.ctx.db.transaction((tx) =>
      this.submit.execute({ executionId: id, userId: identity.subject, identity, body, source: 'api' }, tx),
    );
  }

  @Get('executions/:id/feedback')
  async list(@Param('id') id: string, @CurrentIdentity() identity: Identity) {
    const execution = await this.quality.execution(id);
    if (!execution) throw ApiError.notFound('execution', id);
    if (!maySee(identity, execution.user_id)) throw ApiError.forbidden('not your execution', 'forbidden_execution');
    return { items: await this.feedback.forExecution(id) };
  }

  @Get('quality/executions/:id')
  async score(@Param('id') id: string, @CurrentIdentity() identity: Identity) {
    const execution = await this.quality.execution(id);
    if (!execution) throw ApiError.notFound('execution', id);
    if (!maySee(identity, execution.user_id)) throw ApiError.forbidden('not your execution', 'forbidden_execution');
    const s = await this.quality.score(id);
    if (!s)
      throw new ApiError(404, 'not_scored', `execution ${id} has no quality score (failed executions are not scored)`);
    return {
      executionId: id,
      agent: s.agent,
      command: s.command,
      total: Number(s.total),
      dimensions: {
        completeness: Number(s.completeness),
        clarity: Number(s.clarity),
        correctness: Number(s.correctness),
        depth: Number(s.depth),
        formatting: Number(s.formatting),
      },
      modelVersion: s.model_version,
      scoredAt: s.scored_at,
    };
  }
}
