import { Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ValidateNested } from 'class-validator';
import { compileRule, RuleValidationError } from '../../domain/rule-definition';
import { AlertRuleDto, toDefinition } from '../../http/alert-rule.dto';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { ruleError, validated } from '../command';

export class ValidateAlertRuleCommand {
  @ValidateNested()
  @Type(() => AlertRuleDto)
  rule!: AlertRuleDto;

  constructor(init?: Partial<ValidateAlertRuleCommand>) {
    Object.assign(this, init);
  }
}

/** Checks a rule as saving it would, without saving (for editors): 200 with what it reads, or the 400 saving would give. */
@Injectable()
export class ValidateAlertRuleUseCase {
  constructor(private readonly channels: ChannelsRepository) {}

  async execute(command: ValidateAlertRuleCommand) {
    await validated(command);
    try {
      const compiled = compileRule(toDefinition(command.rule), await this.channels.names());
      return {
        valid: true,
        stateful: compiled.stateful,
        conditionFields: compiled.condition.fields,
        templateFields: compiled.template.fields,
      };
    } catch (error) {
      if (error instanceof RuleValidationError) throw ruleError(error);
      throw error;
    }
  }
}
