import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import { CurrentIdentity, type Identity } from '@hishamos/platform';
import { callerOf } from '../access/caller';
import { DeleteSecretUseCase } from '../usecases/delete-secret/delete-secret.usecase';
import { DestroySecretVersionsUseCase } from '../usecases/destroy-secret-versions/destroy-secret-versions.usecase';
import { GetSecretUseCase } from '../usecases/get-secret/get-secret.usecase';
import { ListSecretVersionsUseCase } from '../usecases/list-secret-versions/list-secret-versions.usecase';
import { ListSecretsUseCase } from '../usecases/list-secrets/list-secrets.usecase';
import { PutSecretUseCase } from '../usecases/put-secret/put-secret.usecase';
import { RotateSecretUseCase } from '../usecases/rotate-secret/rotate-secret.usecase';
import { UndeleteSecretUseCase } from '../usecases/undelete-secret/undelete-secret.usecase';
import {
  DeleteSecretQueryDto,
  GetSecretQueryDto,
  ListSecretsQueryDto,
  PutSecretDto,
  RotateSecretDto,
  SecretPathQueryDto,
  SecretVersionsDto,
} from './dto/secrets.dto';

/**
 * The internal secrets API (contracts.md). Callers authenticate with service credentials (the global
 * guard checks them in constant time); per-caller path scopes and the audit trail are the use cases'.
 * Administrators reach it through the gateway (their identity forwarded and signed).
 */
@Controller('internal/v1/secrets')
export class SecretsController {
  constructor(
    private readonly putSecret: PutSecretUseCase,
    private readonly getSecret: GetSecretUseCase,
    private readonly listVersions: ListSecretVersionsUseCase,
    private readonly rotateSecret: RotateSecretUseCase,
    private readonly deleteSecret: DeleteSecretUseCase,
    private readonly undeleteSecret: UndeleteSecretUseCase,
    private readonly destroyVersions: DestroySecretVersionsUseCase,
    private readonly listSecrets: ListSecretsUseCase,
  ) {}

  @Put()
  put(@Body() body: PutSecretDto, @CurrentIdentity() identity: Identity) {
    return this.putSecret.execute({ caller: callerOf(identity), ...body });
  }

  @Get()
  get(@Query() query: GetSecretQueryDto, @CurrentIdentity() identity: Identity) {
    return this.getSecret.execute({ caller: callerOf(identity), path: query.path, version: query.version });
  }

  @Get('versions')
  versions(@Query() query: SecretPathQueryDto, @CurrentIdentity() identity: Identity) {
    return this.listVersions.execute({ caller: callerOf(identity), path: query.path });
  }

  @Get('list')
  list(@Query() query: ListSecretsQueryDto, @CurrentIdentity() identity: Identity) {
    return this.listSecrets.execute({ caller: callerOf(identity), folder: query.folder ?? '' });
  }

  @Post('rotate')
  @HttpCode(200)
  rotate(@Body() body: RotateSecretDto, @CurrentIdentity() identity: Identity) {
    return this.rotateSecret.execute({ caller: callerOf(identity), path: body.path, value: body.value });
  }

  @Delete()
  delete(@Query() query: DeleteSecretQueryDto, @CurrentIdentity() identity: Identity) {
    return this.deleteSecret.execute({
      caller: callerOf(identity),
      path: query.path,
      versions: query.version !== undefined ? [query.version] : undefined,
    });
  }

  @Post('undelete')
  @HttpCode(200)
  undelete(@Body() body: SecretVersionsDto, @CurrentIdentity() identity: Identity) {
    return this.undeleteSecret.execute({ caller: callerOf(identity), path: body.path, versions: body.versions });
  }

  @Post('destroy')
  @HttpCode(200)
  destroy(@Body() body: SecretVersionsDto, @CurrentIdentity() identity: Identity) {
    return this.destroyVersions.execute({ caller: callerOf(identity), path: body.path, versions: body.versions });
  }
}
