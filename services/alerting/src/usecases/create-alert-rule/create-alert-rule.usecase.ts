import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsOptional, IsString, ValidateNested } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { compileRule, RuleValidationError } from '../../domain/rule-definition';
import { RuleCache } from '../../engine/rule-cache';
import { AlertRuleDto, toDefinition } from '../../http/alert-rule.dto';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { RulesRepository } from '../../repositories/rules.repository';
import { missingChannel, ruleError, validated } from '../command';
import { presentRule } from '../presenters';

export class CreateAlertRuleCommand {
  @ValidateNested()
  @Type(() => AlertRuleDto)
  rule!: AlertRuleDto;

  @IsOptional()
  @IsString()
  actor?: string;

  constructor(init?: Partial<CreateAlertRuleCommand>) {
    Object.assign(this, init);
  }
}

/** Saves a new rule once it compiles completely: expressions, metric, template fields, channels. */
@Injectable()
export class CreateAlertRuleUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly rules: RulesRepository,
    private readonly channels: ChannelsRepository,
    private readonly cache: RuleCache,
  ) {}

  async execute(command: CreateAlertRuleCommand) {
    await validated(command);
    const def = toDefinition(command.rule);
    try {
      compileRule(def, await this.channels.names());
    } catch (error) {
      if (error instanceof RuleValidationError) throw ruleError(error);
      throw error;
    }
    const row = await this.ctx.db.transaction(async (tx) => {
      const inserted = await this.rules.insert(tx, randomUUID(), def, { actor: command.actor });
      const missing = missingChannel(def.channels, await this.channels.lockExisting(tx, def.channels));
      if (missing) throw missing;
      return inserted;
    });
    if (!row) throw ApiError.conflict(`an alert rule named ${def.name} already exists`, 'rule_exists');
    this.cache.invalidate();
    return presentRule(row);
  }
}
