import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentIdentity, type Identity } from '@hishamos/platform';
import { callerOf } from '../access/caller';
import { RotateMasterKeyUseCase } from '../usecases/rotate-master-key/rotate-master-key.usecase';
import { RekeyDto } from './dto/secrets.dto';

/**
 * Master-key rotation of the local store, for administrators forwarded by the gateway and the services
 * in SECRETS_ADMIN_SERVICES: the key ring's state, and re-encryption of every value under the active key.
 */
@Controller('internal/v1/admin/keyring')
export class SecretsAdminController {
  constructor(private readonly rotateMasterKey: RotateMasterKeyUseCase) {}

  @Get()
  status(@CurrentIdentity() identity: Identity) {
    return this.rotateMasterKey.status(callerOf(identity));
  }

  @Post('reencrypt')
  @HttpCode(200)
  reencrypt(@Body() body: RekeyDto, @CurrentIdentity() identity: Identity) {
    return this.rotateMasterKey.execute({ caller: callerOf(identity), batchSize: body.batchSize });
  }
}
