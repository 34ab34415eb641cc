import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { EVENT_TYPES } from '../domain/event-types';
import { FUNCTIONS } from '../domain/expression/expression-evaluator';
import { AGGREGATES, COMPARATORS, SEVERITIES } from '../domain/rule-definition';
import {
  CreateAlertRuleCommand,
  CreateAlertRuleUseCase,
} from '../usecases/create-alert-rule/create-alert-rule.usecase';
import {
  DeleteAlertRuleCommand,
  DeleteAlertRuleUseCase,
} from '../usecases/delete-alert-rule/delete-alert-rule.usecase';
import { GetAlertRuleCommand, GetAlertRuleUseCase } from '../usecases/get-alert-rule/get-alert-rule.usecase';
import { ListAlertRulesCommand, ListAlertRulesUseCase } from '../usecases/list-alert-rules/list-alert-rules.usecase';
import {
  SetAlertRuleEnabledCommand,
  SetAlertRuleEnabledUseCase,
} from '../usecases/set-alert-rule-enabled/set-alert-rule-enabled.usecase';
import {
  UpdateAlertRuleCommand,
  UpdateAlertRuleUseCase,
} from '../usecases/update-alert-rule/update-alert-rule.usecase';
import {
  ValidateAlertRuleCommand,
  ValidateAlertRuleUseCase,
} from '../usecases/validate-alert-rule/validate-alert-rule.usecase';
import { AlertRuleDto, AlertRulePatchDto } from './alert-rule.dto';
import { READERS, WRITERS } from './roles';

/** Alert rules as data: /v1/alert-rules (the gateway forwards it with the caller's identity). */
@Controller('v1/alert-rules')
export class AlertRulesController {
  constructor(
    private readonly list: ListAlertRulesUseCase,
    private readonly get: GetAlertRuleUseCase,
    private readonly create: CreateAlertRuleUseCase,
    private readonly update: UpdateAlertRuleUseCase,
    private readonly remove: DeleteAlertRuleUseCase,
    private readonly setEnabled: SetAlertRuleEnabledUseCase,
    private readonly validate: ValidateAlertRuleUseCase,
  ) {}

  @RequireRoles(...READERS)
  @Get()
  index(@Query() query: ListAlertRulesCommand) {
    return this.list.execute(query);
  }

  /** What rules can be written against: event types and their fields, functions, aggregates. */
  @RequireRoles(...READERS)
  @Get('catalog')
  catalog() {
    return {
      eventTypes: Object.entries(EVENT_TYPES).map(([name, spec]) => ({
        name,
        doc: spec.doc,
        source: spec.source,
        fields: Object.entries(spec.fields).map(([field, f]) => ({ name: field, type: f.type, doc: f.doc })),
      })),
      functions: [...FUNCTIONS.entries()].map(([name, f]) => ({ name, minArgs: f.min, maxArgs: f.max, doc: f.doc })),
      severities: SEVERITIES,
      aggregates: AGGREGATES,
      comparators: COMPARATORS,
    };
  }

  @RequireRoles(...WRITERS)
  @Post('validate')
  @HttpCode(200)
  check(@Body() body: AlertRuleDto) {
    return this.validate.execute(new ValidateAlertRuleCommand({ rule: body }));
  }

  @RequireRoles(...READERS)
  @Get(':id')
  show(@Param('id') id: string) {
    return this.get.execute(new GetAlertRuleCommand({ id }));
  }

  @RequireRoles(...WRITERS)
  @Post()
  store(@Body() body: AlertRuleDto, @CurrentIdentity() who: Identity) {
    return this.create.execute(new CreateAlertRuleCommand({ rule: body, actor: who.subject }));
  }

  @RequireRoles(...WRITERS)
  @Put(':id')
  replace(@Param('id') id: string, @Body() body: AlertRuleDto, @CurrentIdentity() who: Identity) {
    return this.update.execute(new UpdateAlertRuleCommand({ id, rule: body, actor: who.subject }));
  }

  @RequireRoles(...WRITERS)
  @Patch(':id')
  modify(@Param('id') id: string, @Body() body: AlertRulePatchDto, @CurrentIdentity() who: Identity) {
    return this.update.execute(new UpdateAlertRuleCommand({ id, patch: body, actor: who.subject }));
  }

  @RequireRoles(...WRITERS)
  @Delete(':id')
  @HttpCode(204)
  async destroy(@Param('id') id: string): Promise<void> {
    await this.remove.execute(new DeleteAlertRuleCommand({ id }));
  }

  @RequireRoles(...WRITERS)
  @Post(':id/enable')
  @HttpCode(200)
  enable(@Param('id') id: string, @CurrentIdentity() who: Identity) {
    return this.setEnabled.execute(new SetAlertRuleEnabledCommand({ id, enabled: true, actor: who.subject }));
  }

  @RequireRoles(...WRITERS)
  @Post(':id/disable')
  @HttpCode(200)
  disable(@Param('id') id: string, @CurrentIdentity() who: Identity) {
    return this.setEnabled.execute(new SetAlertRuleEnabledCommand({ id, enabled: false, actor: who.subject }));
  }
}
