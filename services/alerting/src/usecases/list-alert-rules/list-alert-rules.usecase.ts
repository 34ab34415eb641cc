import { Injectable } from '@nestjs/common';
import { IsBoolean, IsIn, IsOptional, IsString } from 'class-validator';
import { RULE_KINDS } from '../../domain/rule-definition';
import { RulesRepository } from '../../repositories/rules.repository';
import { validated } from '../command';
import { presentRule } from '../presenters';

export class ListAlertRulesCommand {
  @IsOptional()
  @IsString()
  eventType?: string;

  @IsOptional()
  @IsIn(RULE_KINDS)
  kind?: string;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  constructor(init?: Partial<ListAlertRulesCommand>) {
    Object.assign(this, init);
  }
}

@Injectable()
export class ListAlertRulesUseCase {
  constructor(private readonly rules: RulesRepository) {}

  async execute(command: ListAlertRulesCommand) {
    await validated(command);
    const rows = await this.rules.list({ eventType: command.eventType, kind: command.kind, enabled: command.enabled });
    return { data: rows.map(presentRule) };
  }
}
