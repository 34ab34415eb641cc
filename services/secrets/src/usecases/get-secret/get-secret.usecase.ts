import { Inject, Injectable } from '@nestjs/common';
import { IsDefined, IsInt, IsObject, IsOptional, Min } from 'class-validator';
import type { Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend, type SecretMetadata } from '../../backends/secret-backend';
import { SecretVersionExpiredError } from '../../domain/secret-errors';
import { CLOCK, type Clock } from '../../clock';
import { RotationRepository } from '../../rotation/rotation.repository';
import { IsSecretPath } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class GetSecretCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @IsSecretPath()
  path!: string;

  /** A specific version; the latest when absent. */
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export interface GetSecretResult {
  path: string;
  version: number;
  value: string;
  metadata: SecretMetadata;
  createdAt: string;
}

/**
 * Reads a secret's latest version or a given one. A version replaced by a rotation stays readable
 * until its grace period ends (410 version_expired after). The read is audited before it is answered.
 */
@Injectable()
export class GetSecretUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    private readonly rotations: RotationRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(input: GetSecretCommand): Promise<GetSecretResult> {
    const command = toValidCommand(GetSecretCommand, input);
    const { caller, path, version } = command;
    return this.operations.run({ caller, action: 'read', path, version }, async (tx) => {
      if (version !== undefined) {
        const rotation = await this.rotations.findByPrevious(tx, path, version);
        if (rotation && rotation.grace_until.getTime() <= this.clock.now().getTime())
          throw new SecretVersionExpiredError(path, version, rotation.grace_until);
      }
      const secret = await this.backend.read(tx, path, version);
      return {
        result: {
          path,
          version: secret.version,
          value: secret.value,
          metadata: secret.metadata,
          createdAt: secret.createdAt.toISOString(),
        },
        version: secret.version,
      };
    });
  }
}
