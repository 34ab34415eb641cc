import { Inject, Injectable } from '@nestjs/common';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsDefined, IsInt, IsObject, IsOptional, Min } from 'class-validator';
import type { Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend } from '../../backends/secret-backend';
import { CLOCK, type Clock } from '../../clock';
import { IsSecretPath } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class DeleteSecretCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @IsSecretPath()
  path!: string;

  /** Versions to soft-delete; the latest when absent. */
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(1000)
  @IsInt({ each: true })
  @Min(1, { each: true })
  versions?: number[];
}

export interface DeleteSecretResult {
  path: string;
  /** The versions this call deleted (already deleted or destroyed ones are left as they were). */
  versions: number[];
  deletedAt: string;
}

/** Soft-deletes a secret's latest version (or given versions), like KV v2: undelete can restore them. */
@Injectable()
export class DeleteSecretUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(input: DeleteSecretCommand): Promise<DeleteSecretResult> {
    const { caller, path, versions } = toValidCommand(DeleteSecretCommand, input);
    return this.operations.run({ caller, action: 'delete', path }, async (tx) => {
      const deleted = await this.backend.softDelete(tx, path, versions);
      return {
        result: { path, versions: deleted, deletedAt: this.clock.now().toISOString() },
        version: deleted.length === 1 ? deleted[0] : undefined,
        details: { versions: deleted.map(String) },
      };
    });
  }
}
