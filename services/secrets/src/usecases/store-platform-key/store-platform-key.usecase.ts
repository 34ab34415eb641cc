import { Injectable } from '@nestjs/common';
import { IsDefined, IsObject, IsOptional, Matches } from 'class-validator';
import type { Caller } from '../../access/caller';
import type { SecretMetadata } from '../../backends/secret-backend';
import { IsSecretMetadata } from '../../domain/secret-metadata';
import { PLATFORM_ID_PATTERN, platformKeyPath } from '../../domain/secret-path';
import { PutSecretUseCase, type PutSecretResult } from '../put-secret/put-secret.usecase';
import { IsSecretValue } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class StorePlatformKeyCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  /** The provider id, e.g. `openai`, `anthropic`, `gemini`, `openrouter`. */
  @Matches(PLATFORM_ID_PATTERN, { message: 'platform must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  platform!: string;

  @IsSecretValue('apiKey')
  apiKey!: string;

  /** Extra non-secret settings kept as custom metadata (the seed's additional_config). */
  @IsOptional()
  @IsSecretMetadata()
  metadata?: SecretMetadata;
}

/** The seed's store_ai_api_key: the key at ai/platforms/<platform>, the platform in its metadata. */
@Injectable()
export class StorePlatformKeyUseCase {
  constructor(private readonly putSecret: PutSecretUseCase) {}

  async execute(input: StorePlatformKeyCommand): Promise<PutSecretResult & { platform: string }> {
    const command = toValidCommand(StorePlatformKeyCommand, input);
    const written = await this.putSecret.execute({
      caller: command.caller,
      path: platformKeyPath(command.platform),
      value: command.apiKey,
      metadata: { ...(command.metadata ?? {}), platform: command.platform },
    });
    return { platform: command.platform, ...written };
  }
}
