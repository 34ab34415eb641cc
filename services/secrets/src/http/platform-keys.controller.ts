import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { CurrentIdentity, type Identity } from '@hishamos/platform';
import { callerOf } from '../access/caller';
import { GetPlatformKeyUseCase } from '../usecases/get-platform-key/get-platform-key.usecase';
import { RotatePlatformKeyUseCase } from '../usecases/rotate-platform-key/rotate-platform-key.usecase';
import { StorePlatformKeyUseCase } from '../usecases/store-platform-key/store-platform-key.usecase';
import { PlatformKeyQueryDto, PlatformParamDto, RotatePlatformKeyDto, StorePlatformKeyDto } from './dto/secrets.dto';

/** The seed's helpers for AI platform keys (ai/platforms/<platform>), same scopes and audit as /secrets. */
@Controller('internal/v1/platform-keys')
export class PlatformKeysController {
  constructor(
    private readonly storeKey: StorePlatformKeyUseCase,
    private readonly getKey: GetPlatformKeyUseCase,
    private readonly rotateKey: RotatePlatformKeyUseCase,
  ) {}

  @Put(':platform')
  store(@Param() params: PlatformParamDto, @Body() body: StorePlatformKeyDto, @CurrentIdentity() identity: Identity) {
    return this.storeKey.execute({
      caller: callerOf(identity),
      platform: params.platform,
      apiKey: body.apiKey,
      metadata: body.metadata,
    });
  }

  @Get(':platform')
  get(@Param() params: PlatformParamDto, @Query() query: PlatformKeyQueryDto, @CurrentIdentity() identity: Identity) {
    return this.getKey.execute({ caller: callerOf(identity), platform: params.platform, version: query.version });
  }

  @Post(':platform/rotate')
  @HttpCode(200)
  rotate(@Param() params: PlatformParamDto, @Body() body: RotatePlatformKeyDto, @CurrentIdentity() identity: Identity) {
    return this.rotateKey.execute({ caller: callerOf(identity), platform: params.platform, apiKey: body.apiKey });
  }
}
