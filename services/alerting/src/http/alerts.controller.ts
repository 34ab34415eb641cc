import { Controller, Get, Param, Query } from '@nestjs/common';
import { RequireRoles } from '@hishamos/platform';
import { GetAlertCommand, GetAlertUseCase } from '../usecases/get-alert/get-alert.usecase';
import {
  ListActiveAlertsCommand,
  ListActiveAlertsUseCase,
} from '../usecases/list-active-alerts/list-active-alerts.usecase';
import { ListAlertsCommand, ListAlertsUseCase } from '../usecases/list-alerts/list-alerts.usecase';
import { READERS } from './roles';

/** Alert history (every trigger and resolve) and the alerts active now. */
@Controller('v1/alerts')
export class AlertsController {
  constructor(
    private readonly list: ListAlertsUseCase,
    private readonly active: ListActiveAlertsUseCase,
    private readonly get: GetAlertUseCase,
  ) {}

  @RequireRoles(...READERS)
  @Get()
  index(@Query() query: ListAlertsCommand) {
    return this.list.execute(query);
  }

  @RequireRoles(...READERS)
  @Get('active')
  current() {
    return this.active.execute(new ListActiveAlertsCommand());
  }

  @RequireRoles(...READERS)
  @Get(':id')
  show(@Param('id') id: string) {
    return this.get.execute(new GetAlertCommand({ id }));
  }
}
