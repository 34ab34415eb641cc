import { Inject, Injectable } from '@nestjs/common';
import { IsBoolean, IsOptional, IsString, IsUUID } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { compileRule } from '../../domain/rule-definition';
import { AlertEngine } from '../../engine/alert-engine';
import { RuleCache } from '../../engine/rule-cache';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { definitionOf, RulesRepository } from '../../repositories/rules.repository';
import { validated } from '../command';
import { presentRule } from '../presenters';

export class SetAlertRuleEnabledCommand {
  @IsUUID()
  id!: string;

  @IsBoolean()
  enabled!: boolean;

  @IsOptional()
  @IsString()
  actor?: string;

  constructor(init?: Partial<SetAlertRuleEnabledCommand>) {
    Object.assign(this, init);
  }
}

/** Enables or disables a rule. Disabling resolves its open alerts (PagerDuty is not left with an incident nobody will close). */
@Injectable()
export class SetAlertRuleEnabledUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly rules: RulesRepository,
    private readonly channels: ChannelsRepository,
    private readonly engine: AlertEngine,
    private readonly cache: RuleCache,
  ) {}

  async execute(command: SetAlertRuleEnabledCommand) {
    await validated(command);
    const row = await transactionWithHooks(this.ctx.db, async (tx) => {
      const existing = await this.rules.get(command.id, tx, true);
      if (!existing) throw ApiError.notFound('alert rule', command.id);
      if (existing.enabled === command.enabled) return existing;
      if (!command.enabled) {
        const rule = compileRule(definitionOf(existing), await this.channels.names(tx), existing.id, existing.revision);
        await this.engine.resolveAll(tx, this.ctx.outbox, rule, 'rule-disabled');
      }
      return this.rules.setEnabled(tx, existing.id, command.enabled, command.actor);
    });
    this.cache.invalidate();
    return presentRule(row!);
  }
}
