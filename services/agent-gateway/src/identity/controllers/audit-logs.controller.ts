import { Controller, Get, Query } from '@nestjs/common';
import { RequireRoles } from '@hishamos/platform';
import type { AuditRow } from '../audit/audit-log.repository';
import type { Page } from '../identity.types';
import { ListAuditLogsQuery, ListAuditLogsUseCase } from '../usecases/list-audit-logs/list-audit-logs.usecase';

/** The audit log (admins). */
@RequireRoles('admin')
@Controller('v1/audit-logs')
export class AuditLogsController {
  constructor(private readonly listAudit: ListAuditLogsUseCase) {}

  @Get()
  list(@Query() query: ListAuditLogsQuery): Promise<Page<AuditRow>> {
    return this.listAudit.execute(query);
  }
}
