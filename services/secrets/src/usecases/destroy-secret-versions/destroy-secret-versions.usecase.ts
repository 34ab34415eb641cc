import { Inject, Injectable } from '@nestjs/common';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsDefined, IsInt, IsObject, Min } from 'class-validator';
import type { Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend } from '../../backends/secret-backend';
import { IsSecretPath } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class DestroySecretVersionsCommand {
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

/** Permanently removes versions' values (KV v2 destroy); their metadata stays, marked destroyed. */
@Injectable()
export class DestroySecretVersionsUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
  ) {}

  async execute(input: DestroySecretVersionsCommand): Promise<{ path: string; versions: number[] }> {
    const { caller, path, versions } = toValidCommand(DestroySecretVersionsCommand, input);
    return this.operations.run({ caller, action: 'destroy', path }, async (tx) => {
      await this.backend.destroy(tx, path, versions);
      return { result: { path, versions }, details: { versions: versions.map(String) } };
    });
  }
}
