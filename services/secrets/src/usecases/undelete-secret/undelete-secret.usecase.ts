import { Inject, Injectable } from '@nestjs/common';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsDefined, IsInt, IsObject, Min } from 'class-validator';
import type { Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend } from '../../backends/secret-backend';
import { IsSecretPath } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class UndeleteSecretCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @IsSecretPath()
  path!: string;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(1000)
  @IsInt({ each: true })
  @Min(1, { each: true })
  versions!: number[];
}

/** Restores soft-deleted versions (destroyed ones cannot come back). */
@Injectable()
export class UndeleteSecretUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
  ) {}

  async execute(input: UndeleteSecretCommand): Promise<{ path: string; versions: number[] }> {
    const { caller, path, versions } = toValidCommand(UndeleteSecretCommand, input);
    return this.operations.run({ caller, action: 'undelete', path }, async (tx) => {
      await this.backend.undelete(tx, path, versions);
      return { result: { path, versions }, details: { versions: versions.map(String) } };
    });
  }
}
