import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsUUID, ValidateNested } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ChannelRegistry } from '../../channels/channel-registry';
import { RuleCache } from '../../engine/rule-cache';
import { ChannelPatchDto } from '../../http/channel.dto';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { validated } from '../command';
import { checkChannel } from '../create-channel/create-channel.usecase';
import { presentChannel } from '../presenters';

export class UpdateChannelCommand {
  @IsUUID()
  id!: string;

  @ValidateNested()
  @Type(() => ChannelPatchDto)
  patch!: ChannelPatchDto;

  constructor(init?: Partial<UpdateChannelCommand>) {
    Object.assign(this, init);
  }
}

/** Changes a channel's config, secret path or enabled flag (its name and type are fixed: rules refer to the name). */
@Injectable()
export class UpdateChannelUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly channels: ChannelsRepository,
    private readonly registry: ChannelRegistry,
    private readonly cache: RuleCache,
  ) {}

  async execute(command: UpdateChannelCommand) {
    await validated(command);
    const row = await this.ctx.db.transaction(async (tx) => {
      const existing = await this.channels.get(command.id, tx);
      if (!existing) throw ApiError.notFound('channel', command.id);
      const p = command.patch;
      const secretPath = p.secretPath === undefined ? existing.secret_path : p.secretPath;
      const config = checkChannel(this.registry, existing.type, p.config ?? existing.config, secretPath);
      return this.channels.update(tx, existing.id, { config, secretPath, enabled: p.enabled ?? existing.enabled });
    });
    this.cache.invalidate();
    return presentChannel(row!);
  }
}
