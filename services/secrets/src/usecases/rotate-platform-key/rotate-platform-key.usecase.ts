import { Injectable } from '@nestjs/common';
import { IsDefined, IsObject, Matches } from 'class-validator';
import type { Caller } from '../../access/caller';
import { PLATFORM_ID_PATTERN, platformKeyPath } from '../../domain/secret-path';
import { RotateSecretUseCase, type RotateSecretResult } from '../rotate-secret/rotate-secret.usecase';
import { IsSecretValue } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class RotatePlatformKeyCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @Matches(PLATFORM_ID_PATTERN, { message: 'platform must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  platform!: string;

  @IsSecretValue('apiKey')
  apiKey!: string;
}

/**
 * The seed's rotate_platform_key: a new version of ai/platforms/<platform>; the old key stays readable
 * for the grace period and SecretRotated tells the gateway to drop its cached credentials.
 */
@Injectable()
export class RotatePlatformKeyUseCase {
  constructor(private readonly rotateSecret: RotateSecretUseCase) {}

  async execute(input: RotatePlatformKeyCommand): Promise<RotateSecretResult & { platform: string }> {
    const command = toValidCommand(RotatePlatformKeyCommand, input);
    const rotated = await this.rotateSecret.execute({
      caller: command.caller,
      path: platformKeyPath(command.platform),
      value: command.apiKey,
    });
    return { platform: command.platform, ...rotated };
  }
}
