import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { RulesRepository } from '../../repositories/rules.repository';
import { validated } from '../command';
import { presentRule } from '../presenters';

export class GetAlertRuleCommand {
  @IsUUID()
  id!: string;

  constructor(init?: Partial<GetAlertRuleCommand>) {
    Object.assign(this, init);
  }
}

@Injectable()
export class GetAlertRuleUseCase {
  constructor(private readonly rules: RulesRepository) {}

  async execute(command: GetAlertRuleCommand) {
    await validated(command);
    const row = await this.rules.get(command.id);
    if (!row) throw ApiError.notFound('alert rule', command.id);
    return presentRule(row);
  }
}
