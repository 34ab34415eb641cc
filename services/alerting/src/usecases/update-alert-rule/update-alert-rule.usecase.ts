import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsOptional, IsString, IsUUID, ValidateNested } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { compileRule, RuleValidationError, type RuleDefinition } from '../../domain/rule-definition';
import { AlertEngine } from '../../engine/alert-engine';
import { RuleCache } from '../../engine/rule-cache';
import { AlertRuleDto, AlertRulePatchDto, toDefinition } from '../../http/alert-rule.dto';
import { AlertStatesRepository } from '../../repositories/alert-states.repository';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { MetricSamplesRepository } from '../../repositories/metric-samples.repository';
import { definitionOf, RulesRepository } from '../../repositories/rules.repository';
import { isUniqueViolation, missingChannel, ruleError, validated } from '../command';
import { presentRule } from '../presenters';

export class UpdateAlertRuleCommand {
  @IsUUID()
  id!: string;

  /** PUT: the whole rule. */
  @IsOptional()
  @ValidateNested()
  @Type(() => AlertRuleDto)
  rule?: AlertRuleDto;

  /** PATCH: only the fields to change. */
  @IsOptional()
  @ValidateNested()
  @Type(() => AlertRulePatchDto)
  patch?: AlertRulePatchDto;

  @IsOptional()
  @IsString()
  actor?: string;

  constructor(init?: Partial<UpdateAlertRuleCommand>) {
    Object.assign(this, init);
  }
}

function merge(current: RuleDefinition, patch: AlertRulePatchDto): RuleDefinition {
  const out: RuleDefinition = { ...current };
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return toDefinition(out);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Changes a rule, validated like a new one. A rule that now watches other events or other entities
 * resolves its open alerts first; one whose condition or metric changed starts its windows afresh;
 * cooldowns otherwise carry over.
 */
@Injectable()
export class UpdateAlertRuleUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly rules: RulesRepository,
    private readonly channels: ChannelsRepository,
    private readonly states: AlertStatesRepository,
    private readonly samples: MetricSamplesRepository,
    private readonly engine: AlertEngine,
    private readonly cache: RuleCache,
  ) {}

  async execute(command: UpdateAlertRuleCommand) {
    await validated(command);
    if (!command.rule && !command.patch) throw ApiError.badRequest('body', 'nothing to change');
    try {
      const row = await transactionWithHooks(this.ctx.db, async (tx) => {
        const existing = await this.rules.get(command.id, tx, true);
        if (!existing) throw ApiError.notFound('alert rule', command.id);
        const before = definitionOf(existing);
        const after = command.rule ? toDefinition(command.rule) : merge(before, command.patch!);
        const channelNames = await this.channels.names(tx);
        try {
          compileRule(after, channelNames);
        } catch (error) {
          if (error instanceof RuleValidationError) throw ruleError(error);
          throw error;
        }
        const retargeted =
          before.kind !== after.kind || before.eventType !== after.eventType || !same(before.entity, after.entity);
        const disabled = before.enabled !== false && after.enabled === false;
        if (retargeted || disabled) {
          const old = compileRule(before, channelNames, existing.id, existing.revision);
          await this.engine.resolveAll(tx, this.ctx.outbox, old, 'rule-change');
        }
        if (retargeted) await this.states.deleteForRule(tx, existing.id);
        if (retargeted || !same(before.condition, after.condition) || !same(before.metric, after.metric))
          await this.samples.deleteForRule(tx, existing.id);
        const updated = await this.rules.update(tx, existing.id, after, command.actor);
        const missing = missingChannel(after.channels, await this.channels.lockExisting(tx, after.channels));
        if (missing) throw missing;
        return updated;
      });
      this.cache.invalidate();
      return presentRule(row!);
    } catch (error) {
      if (isUniqueViolation(error))
        throw ApiError.conflict(`an alert rule with that name already exists`, 'rule_exists');
      throw error;
    }
  }
}
