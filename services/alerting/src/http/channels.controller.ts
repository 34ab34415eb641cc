import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { RequireRoles } from '@hishamos/platform';
import { CreateChannelCommand, CreateChannelUseCase } from '../usecases/create-channel/create-channel.usecase';
import { DeleteChannelCommand, DeleteChannelUseCase } from '../usecases/delete-channel/delete-channel.usecase';
import { ListChannelsCommand, ListChannelsUseCase } from '../usecases/list-channels/list-channels.usecase';
import { TestChannelCommand, TestChannelUseCase } from '../usecases/test-channel/test-channel.usecase';
import { UpdateChannelCommand, UpdateChannelUseCase } from '../usecases/update-channel/update-channel.usecase';
import { ChannelDto, ChannelPatchDto } from './channel.dto';
import { READERS, WRITERS } from './roles';

/** Notification channels: which adapter, its non-secret config and where its credential lives. */
@Controller('v1/channels')
export class ChannelsController {
  constructor(
    private readonly list: ListChannelsUseCase,
    private readonly create: CreateChannelUseCase,
    private readonly update: UpdateChannelUseCase,
    private readonly remove: DeleteChannelUseCase,
    private readonly test: TestChannelUseCase,
  ) {}

  @RequireRoles(...READERS)
  @Get()
  index() {
    return this.list.execute(new ListChannelsCommand());
  }

  @RequireRoles(...WRITERS)
  @Post()
  store(@Body() body: ChannelDto) {
    return this.create.execute(new CreateChannelCommand({ channel: body }));
  }

  @RequireRoles(...WRITERS)
  @Patch(':id')
  modify(@Param('id') id: string, @Body() body: ChannelPatchDto) {
    return this.update.execute(new UpdateChannelCommand({ id, patch: body }));
  }

  @RequireRoles(...WRITERS)
  @Delete(':id')
  @HttpCode(204)
  async destroy(@Param('id') id: string): Promise<void> {
    await this.remove.execute(new DeleteChannelCommand({ id }));
  }

  @RequireRoles(...WRITERS)
  @Post(':id/test')
  @HttpCode(200)
  send(@Param('id') id: string) {
    return this.test.execute(new TestChannelCommand({ id }));
  }
}
