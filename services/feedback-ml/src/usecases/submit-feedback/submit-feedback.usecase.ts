import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { SqlExecutor } from '@hishamos/persistence';
import { ApiError, type Identity } from '@hishamos/platform';
import { FeedbackMetrics } from '../../metrics/feedback-metrics';
import { FeedbackRepository, type FeedbackRow } from '../../repositories/feedback.repository';
import { QualityRepository } from '../../repositories/quality.repository';
import { SubmitFeedbackCommand } from './submit-feedback.command';

/** Who may see an execution (and so rate it): the person it ran for, admins and operators. */
export function maySee(identity: Identity, executionUserId: string): boolean {
  if (identity.kind === 'service') return true;
  return identity.subject === executionUserId || identity.roles.some((r) => r === 'admin' || r === 'operator');
}

/**
 * Records a rating (one per user per execution; a second one updates it). From the API with the
 * caller's identity, or from a FeedbackSubmitted event of another service.
 */
@Injectable()
export class SubmitFeedbackUseCase {
  constructor(
    private readonly quality: QualityRepository,
    private readonly feedback: FeedbackRepository,
    private readonly metrics: FeedbackMetrics,
  ) {}

  async execute(
    input: { executionId: string; userId: string; identity: Identity; body: unknown; source: 'api' | 'event' },
    tx: SqlExecutor,
  ): Promise<{ feedback: FeedbackRow; created: boolean }> {
    const command = plainToInstance(SubmitFeedbackCommand, input.body ?? {});
    const errors = await validate(command, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length) throw ApiError.validation(errors);
    const execution = await this.quality.execution(input.executionId, tx);
    if (!execution) throw ApiError.notFound('execution', input.executionId);
    if (!maySee(input.identity, execution.user_id))
      throw ApiError.forbidden('you may only rate executions you can see', 'forbidden_execution');
    const result = await this.feedback.upsert(tx, {
      executionId: input.executionId,
      userId: input.userId,
      rating: command.rating,
      text: command.text ?? '',
      issues: command.issues ?? [],
      source: input.source,
    });
    this.metrics.ratings.inc({ rating: String(command.rating) });
    return { feedback: result.row, created: result.created };
  }
}
