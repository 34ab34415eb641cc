import { Inject, Injectable } from '@nestjs/common';
import { ExecutionStatus, Topics, type Payload } from '@hishamos/contracts';
import type { Outbox } from '@hishamos/messaging';
import { NonRetryableError } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { CommandCatalog } from '../../catalog/command-catalog';
import { ActiveModel } from '../../ml/active-model';
import { FeedbackMetrics } from '../../metrics/feedback-metrics';
import { QualityRepository } from '../../repositories/quality.repository';
import { extractFeatures, featureRow } from '../../scoring/features';
import { scoreOutput, type QualityScore } from '../../scoring/quality-scorer';

export const COMMAND_CATALOG = Symbol('COMMAND_CATALOG');

/**
 * Scores one execution result (0-10 over the seed's five dimensions) in the consumer's transaction:
 * stores the execution and its score, and publishes QualityScored through the outbox. Failed
 * executions are stored (they can be rated) but not scored. A result with no command (a chat with an
 * agent through the OpenAI-compatible API) or a command feedback-ml does not know has no output
 * schema: completeness is judged by generic structure signals and the difficulty is the middle one (3).
 */
@Injectable()
export class ScoreExecutionUseCase {
  constructor(
    private readonly quality: QualityRepository,
    private readonly activeModel: ActiveModel,
    private readonly metrics: FeedbackMetrics,
    @Inject(COMMAND_CATALOG) private readonly catalog: CommandCatalog,
  ) {}

  async execute(
    event: Payload<typeof Topics.ExecutionCompleted>,
    tx: SqlExecutor,
    outbox: Outbox,
  ): Promise<QualityScore | undefined> {
    if (!event.executionId) throw new NonRetryableError('execution_id: required');
    if (!event.agent) throw new NonRetryableError('agent: required');
    const succeeded = event.status === ExecutionStatus.SUCCEEDED;
    const inserted = await this.quality.saveExecution(tx, {
      execution_id: event.executionId,
      user_id: event.userId,
      team_id: event.teamId,
      agent: event.agent,
      command: event.command,
      template_version: event.templateVersion,
      status: succeeded ? 'succeeded' : 'failed',
      offline: event.offline,
      prompt_length: event.prompt.length,
      output: event.output,
      input_tokens: String(event.usage?.inputTokens ?? 0n),
      output_tokens: String(event.usage?.outputTokens ?? 0n),
      duration_ms: String(event.durationMs),
    });
    if (!inserted || !succeeded) return undefined;
    const info = this.catalog.get(event.agent, event.command);
    const features = extractFeatures({
      promptLength: event.prompt.length,
      output: event.output,
      inputTokens: Number(event.usage?.inputTokens ?? 0n),
      outputTokens: Number(event.usage?.outputTokens ?? 0n),
      durationMs: Number(event.durationMs),
      agentAverageScore: await this.quality.agentAverage(event.agent, tx),
      commandDifficulty: info?.difficulty ?? 3,
    });
    const active = this.activeModel.get();
    const score = scoreOutput({
      output: event.output,
      outputSchema: info?.outputSchema,
      offline: event.offline,
      predictedRating: active
        ? { value: active.model.predict([featureRow(features)])[0], version: `rf-v${active.version}` }
        : undefined,
    });
    await this.quality.saveScore(tx, event.executionId, event.agent, event.command, score, features);
    await outbox.add(
      tx,
      Topics.QualityScored,
      {
        executionId: event.executionId,
        agent: event.agent,
        command: event.command,
        userId: event.userId,
        total: score.total,
        ...score.dimensions,
        modelVersion: score.modelVersion,
      },
      { key: event.executionId },
    );
    this.metrics.score.observe({ agent: event.agent }, score.total);
    return score;
  }
}
