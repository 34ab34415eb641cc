import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ValidateNested } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ChannelRegistry } from '../../channels/channel-registry';
import { ChannelConfigError } from '../../channels/notification-channel';
import { RuleCache } from '../../engine/rule-cache';
import { ChannelDto } from '../../http/channel.dto';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { ALLOWED_SECRET_PREFIXES, isAllowedSecretPath } from '../../secrets/channel-secrets';
import { channelConfigError, validated } from '../command';
import { presentChannel } from '../presenters';

export class CreateChannelCommand {
  @ValidateNested()
  @Type(() => ChannelDto)
  channel!: ChannelDto;

  constructor(init?: Partial<CreateChannelCommand>) {
    Object.assign(this, init);
  }
}

/** Checks a channel's type, non-secret config and secret path the way the adapter will use them. */
export function checkChannel(
  registry: ChannelRegistry,
  type: string,
  config: unknown,
  secretPath: string | null | undefined,
): Record<string, unknown> {
  if (!registry.has(type))
    throw new ApiError(400, 'unknown_channel_type', `type: unknown channel type '${type}'`, {
      field: 'type',
      reason: `must be one of ${registry.types().join(', ')}`,
    });
  const adapter = registry.get(type);
  let normalised: Record<string, unknown>;
  try {
    normalised = adapter.validateConfig(config ?? {});
  } catch (error) {
    if (error instanceof ChannelConfigError) throw channelConfigError(error);
    throw error;
  }
  if (secretPath) {
    if (!isAllowedSecretPath(secretPath))
      throw ApiError.badRequest(
        'secretPath',
        `must be a secret path under ${ALLOWED_SECRET_PREFIXES.join(' or ')} (the paths alerting may read)`,
      );
  } else if (adapter.secretRequired) {
    throw ApiError.badRequest('secretPath', `a ${type} channel needs its credential in the secrets service`);
  }
  return normalised;
}

@Injectable()
export class CreateChannelUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly channels: ChannelsRepository,
    private readonly registry: ChannelRegistry,
    private readonly cache: RuleCache,
  ) {}

  async execute(command: CreateChannelCommand) {
    await validated(command);
    const c = command.channel;
    const config = checkChannel(this.registry, c.type, c.config, c.secretPath);
    const row = await this.ctx.db.transaction((tx) =>
      this.channels.insert(tx, {
        id: randomUUID(),
        name: c.name,
        type: c.type,
        config,
        secretPath: c.secretPath ?? null,
        enabled: c.enabled ?? true,
      }),
    );
    if (!row) throw ApiError.conflict(`a channel named ${c.name} already exists`, 'channel_exists');
    this.cache.invalidate();
    return presentChannel(row);
  }
}
