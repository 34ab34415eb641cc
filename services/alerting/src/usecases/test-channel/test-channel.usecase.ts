import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError, settingsOf, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ChannelRegistry } from '../../channels/channel-registry';
import type { ChannelType, DeliveryOutcome } from '../../channels/notification-channel';
import type { AlertingSettings } from '../../config/alerting.settings';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { CHANNEL_SECRETS, type ChannelSecrets } from '../../secrets/channel-secrets';
import { validated } from '../command';

export class TestChannelCommand {
  @IsUUID()
  id!: string;

  constructor(init?: Partial<TestChannelCommand>) {
    Object.assign(this, init);
  }
}

/** Sends one test message through a channel now and reports what the peer answered (nothing is recorded). */
@Injectable()
export class TestChannelUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly channels: ChannelsRepository,
    private readonly registry: ChannelRegistry,
    @Inject(CHANNEL_SECRETS) private readonly secrets: ChannelSecrets,
  ) {}

  async execute(command: TestChannelCommand) {
    await validated(command);
    const channel = await this.channels.get(command.id);
    if (!channel) throw ApiError.notFound('channel', command.id);
    const adapter = this.registry.get(channel.type);
    let outcome: DeliveryOutcome;
    try {
      const secret = channel.secret_path ? await this.secrets.read(channel.secret_path) : undefined;
      const id = randomUUID();
      outcome = await adapter.send(
        {
          deliveryId: id,
          alertId: id,
          action: 'trigger',
          ruleId: null,
          ruleName: 'channel_test',
          entity: channel.name,
          severity: 'info',
          title: `Test of channel ${channel.name}`,
          text: `Test notification from HishamOS alerting through channel ${channel.name}.`,
          dedupKey: `hishamos:test:${channel.name}`,
          source: 'test',
          fields: { channel: channel.name },
          createdAt: new Date(),
        },
        { name: channel.name, type: channel.type as ChannelType, config: channel.config },
        secret,
        AbortSignal.timeout(settingsOf<AlertingSettings>(this.ctx).ALERTING_DELIVERY_TIMEOUT_MS),
      );
    } catch (error) {
      outcome = { ok: false, retryable: false, error: (error as Error).message };
    }
    return outcome.ok
      ? { ok: true, statusCode: outcome.statusCode ?? null }
      : { ok: false, statusCode: outcome.statusCode ?? null, error: outcome.error };
  }
}
