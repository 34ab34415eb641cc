import { Injectable } from '@nestjs/common';
import { ChannelRegistry } from '../../channels/channel-registry';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { presentChannel } from '../presenters';

export class ListChannelsCommand {}

@Injectable()
export class ListChannelsUseCase {
  constructor(
    private readonly channels: ChannelsRepository,
    private readonly registry: ChannelRegistry,
  ) {}

  async execute(_command: ListChannelsCommand) {
    const rows = await this.channels.list();
    return { data: rows.map(presentChannel), types: this.registry.types() };
  }
}
