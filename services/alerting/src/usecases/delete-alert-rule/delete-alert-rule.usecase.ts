import { Inject, Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { compileRule } from '../../domain/rule-definition';
import { AlertEngine } from '../../engine/alert-engine';
import { RuleCache } from '../../engine/rule-cache';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { definitionOf, RulesRepository } from '../../repositories/rules.repository';
import { validated } from '../command';

export class DeleteAlertRuleCommand {
  @IsUUID()
  id!: string;

  constructor(init?: Partial<DeleteAlertRuleCommand>) {
    Object.assign(this, init);
  }
}

/** Deletes a rule after resolving its open alerts; its history stays (alerts keep the rule's name). */
@Injectable()
export class DeleteAlertRuleUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly rules: RulesRepository,
    private readonly channels: ChannelsRepository,
    private readonly engine: AlertEngine,
    private readonly cache: RuleCache,
  ) {}

  async execute(command: DeleteAlertRuleCommand): Promise<void> {
    await validated(command);
    await transactionWithHooks(this.ctx.db, async (tx) => {
      const existing = await this.rules.get(command.id, tx, true);
      if (!existing) throw ApiError.notFound('alert rule', command.id);
      const rule = compileRule(definitionOf(existing), await this.channels.names(tx), existing.id, existing.revision);
      await this.engine.resolveAll(tx, this.ctx.outbox, rule, 'rule-deleted');
      await this.rules.delete(tx, existing.id);
    });
    this.cache.invalidate();
  }
}
