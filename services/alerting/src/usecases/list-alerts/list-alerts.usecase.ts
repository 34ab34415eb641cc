import { Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import { SEVERITIES } from '../../domain/rule-definition';
import { AlertsRepository } from '../../repositories/alerts.repository';
import { decodeCursor, encodeCursor, validated } from '../command';
import { presentAlert } from '../presenters';

export class ListAlertsCommand {
  @IsOptional()
  @IsUUID()
  ruleId?: string;

  @IsOptional()
  @IsString()
  rule?: string;

  @IsOptional()
  @IsString()
  entity?: string;

  @IsOptional()
  @IsIn(['trigger', 'resolve'])
  action?: string;

  @IsOptional()
  @IsIn(SEVERITIES)
  severity?: string;

  @IsOptional()
  @Type(() => Date)
  @IsDate()
  since?: Date;

  @IsOptional()
  @IsString()
  cursor?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;

  constructor(init?: Partial<ListAlertsCommand>) {
    Object.assign(this, init);
  }
}

/** The alert history, newest first, a page at a time. */
@Injectable()
export class ListAlertsUseCase {
  constructor(private readonly alerts: AlertsRepository) {}

  async execute(command: ListAlertsCommand) {
    await validated(command);
    const rows = await this.alerts.list({
      ruleId: command.ruleId,
      ruleName: command.rule,
      entity: command.entity,
      action: command.action,
      severity: command.severity,
      since: command.since,
      before: decodeCursor(command.cursor),
      limit: command.limit,
    });
    const last = rows[rows.length - 1];
    return {
      data: rows.map(presentAlert),
      nextCursor: rows.length === command.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }
}
