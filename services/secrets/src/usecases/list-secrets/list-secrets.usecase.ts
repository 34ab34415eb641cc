import { Inject, Injectable } from '@nestjs/common';
import { IsDefined, IsObject, IsString, MaxLength, ValidateBy } from 'class-validator';
import type { Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend } from '../../backends/secret-backend';
import { isValidSecretFolder, MAX_PATH_LENGTH } from '../../domain/secret-path';
import { toValidCommand } from '../to-valid-command';

export class ListSecretsCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  /** A folder ending in `/` (e.g. `ai/platforms/`), or '' for the root. */
  @IsString()
  @MaxLength(MAX_PATH_LENGTH + 1)
  @ValidateBy({
    name: 'isSecretFolder',
    validator: {
      validate: (v) => typeof v === 'string' && isValidSecretFolder(v),
      defaultMessage: () => 'folder must be a secret path ending in / (e.g. ai/platforms/)',
    },
  })
  folder!: string;
}

/** Names directly under a folder (sub-folders end in `/`), like Vault's LIST on metadata/. */
@Injectable()
export class ListSecretsUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
  ) {}

  async execute(input: ListSecretsCommand): Promise<{ folder: string; keys: string[] }> {
    const { caller, folder } = toValidCommand(ListSecretsCommand, input);
    return this.operations.run({ caller, action: 'list', path: folder }, async (tx) => {
      const keys = await this.backend.list(tx, folder);
      return { result: { folder, keys }, details: { count: keys.length } };
    });
  }
}
