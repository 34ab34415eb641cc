import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import type { ApiKeyView, Page, RequestActor } from '../identity.types';
import { Actor } from '../request-actor.decorator';
import {
  CreateApiKeyCommand,
  CreateApiKeyUseCase,
  type CreatedApiKey,
} from '../usecases/create-api-key/create-api-key.usecase';
import { ListApiKeysQuery, ListApiKeysUseCase } from '../usecases/list-api-keys/list-api-keys.usecase';
import { RevokeApiKeyUseCase } from '../usecases/revoke-api-key/revoke-api-key.usecase';

/** API keys: everyone manages their own; admins anyone's. */
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly createKey: CreateApiKeyUseCase,
    private readonly listKeys: ListApiKeysUseCase,
    private readonly revokeKey: RevokeApiKeyUseCase,
  ) {}

  @Post()
  create(@Body() body: CreateApiKeyCommand, @Actor() actor: RequestActor): Promise<CreatedApiKey> {
    return this.createKey.execute(body, actor);
  }

  @Get()
  list(@Query() query: ListApiKeysQuery, @Actor() actor: RequestActor): Promise<Page<ApiKeyView>> {
    return this.listKeys.execute(query, actor);
  }

  @Delete(':id')
  revoke(@Param('id') id: string, @Actor() actor: RequestActor): Promise<ApiKeyView> {
    return this.revokeKey.execute(id, actor);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  revokePost(@Param('id') id: string, @Actor() actor: RequestActor): Promise<ApiKeyView> {
    return this.revokeKey.execute(id, actor);
  }
}
