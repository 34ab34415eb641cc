import { Injectable } from '@nestjs/common';
import { IsDefined, IsInt, IsObject, IsOptional, Matches, Min } from 'class-validator';
import type { Caller } from '../../access/caller';
import { PLATFORM_ID_PATTERN, platformKeyPath } from '../../domain/secret-path';
import { GetSecretUseCase } from '../get-secret/get-secret.usecase';
import { toValidCommand } from '../to-valid-command';

export class GetPlatformKeyCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @Matches(PLATFORM_ID_PATTERN, { message: 'platform must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  platform!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export interface PlatformKey {
  platform: string;
  apiKey: string;
  version: number;
  createdAt: string;
}

/** The seed's get_ai_api_key: the API key stored at ai/platforms/<platform>. */
@Injectable()
export class GetPlatformKeyUseCase {
  constructor(private readonly getSecret: GetSecretUseCase) {}

  async execute(input: GetPlatformKeyCommand): Promise<PlatformKey> {
    const command = toValidCommand(GetPlatformKeyCommand, input);
    const secret = await this.getSecret.execute({
      caller: command.caller,
      path: platformKeyPath(command.platform),
      version: command.version,
    });
    return { platform: command.platform, apiKey: secret.value, version: secret.version, createdAt: secret.createdAt };
  }
}
