import { Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { AuditLogRepository, type AuditRow } from '../../audit/audit-log.repository';
import type { Page } from '../../identity.types';
import { toValidCommand } from '../../validate-command';

export class ListAuditLogsQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  actor?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  @IsOptional()
  @IsString()
  @MaxLength(50)
  resourceType?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  resourceId?: string;

  @IsOptional()
  @IsIn(['success', 'denied', 'failure', 'error'])
  outcome?: string;

  /** The service that recorded it (e.g. `secrets`). */
  @IsOptional()
  @IsString()
  @MaxLength(50)
  sourceService?: string;

  @IsOptional()
  @IsISO8601({}, { message: 'since must be an ISO 8601 date-time' })
  since?: string;

  @IsOptional()
  @IsISO8601({}, { message: 'until must be an ISO 8601 date-time' })
  until?: string;
}

/** The audit log, newest first, a page at a time, filtered (admin). */
@Injectable()
export class ListAuditLogsUseCase {
  constructor(private readonly audit: AuditLogRepository) {}

  execute(input: ListAuditLogsQuery): Promise<Page<AuditRow>> {
    const query = toValidCommand(ListAuditLogsQuery, input);
    return this.audit.list({ ...query, limit: query.limit ?? 50 });
  }
}
