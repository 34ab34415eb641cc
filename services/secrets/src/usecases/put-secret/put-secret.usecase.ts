import { Inject, Injectable } from '@nestjs/common';
import { IsDefined, IsInt, IsObject, IsOptional, Min } from 'class-validator';
import { actorOf, type Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend, type SecretMetadata } from '../../backends/secret-backend';
import { IsSecretMetadata } from '../../domain/secret-metadata';
import { IsSecretPath, IsSecretValue } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class PutSecretCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @IsSecretPath()
  path!: string;

  @IsSecretValue()
  value!: string;

  /** Check-and-set: 0 = create only; N = only if the current version is N. */
  @IsOptional()
  @IsInt()
  @Min(0)
  cas?: number;

  @IsOptional()
  @IsSecretMetadata()
  metadata?: SecretMetadata;
}

export interface PutSecretResult {
  path: string;
  version: number;
  createdAt: string;
}

/** Writes a new version of a secret (KV v2 semantics, optional check-and-set); the first writer is its owner. */
@Injectable()
export class PutSecretUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
  ) {}

  async execute(input: PutSecretCommand): Promise<PutSecretResult> {
    const command = toValidCommand(PutSecretCommand, input);
    const { caller, path } = command;
    return this.operations.run(
      { caller, action: 'write', path, details: command.cas !== undefined ? { cas: command.cas } : undefined },
      async (tx) => {
        const written = await this.backend.write(tx, path, command.value, {
          cas: command.cas,
          metadata: command.metadata,
          initialMetadata: { owner: actorOf(caller) },
        });
        return {
          result: { path, version: written.version, createdAt: written.createdAt.toISOString() },
          version: written.version,
        };
      },
    );
  }
}
