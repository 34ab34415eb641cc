import { Inject, Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { RuleCache } from '../../engine/rule-cache';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { RulesRepository } from '../../repositories/rules.repository';
import { validated } from '../command';

export class DeleteChannelCommand {
  @IsUUID()
  id!: string;

  constructor(init?: Partial<DeleteChannelCommand>) {
    Object.assign(this, init);
  }
}

/** Deletes a channel no rule sends to (409 naming the rules otherwise). */
@Injectable()
export class DeleteChannelUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly channels: ChannelsRepository,
    private readonly rules: RulesRepository,
    private readonly cache: RuleCache,
  ) {}

  async execute(command: DeleteChannelCommand): Promise<void> {
    await validated(command);
    await this.ctx.db.transaction(async (tx) => {
      const existing = await this.channels.get(command.id, tx);
      if (!existing) throw ApiError.notFound('channel', command.id);
      // Lock the rules table against a concurrent rule naming this channel.
      await tx.query(`LOCK TABLE alert_rules IN SHARE ROW EXCLUSIVE MODE`);
      const users = await this.rules.usingChannel(existing.name, tx);
      if (users.length)
        throw ApiError.conflict(
          `channel ${existing.name} is used by rules ${users.join(', ')}; remove it from them first`,
          'channel_in_use',
        );
      await this.channels.delete(tx, existing.id);
    });
    this.cache.invalidate();
  }
}
