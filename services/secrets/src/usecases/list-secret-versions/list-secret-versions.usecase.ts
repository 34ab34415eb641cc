import { Inject, Injectable } from '@nestjs/common';
import { IsDefined, IsObject } from 'class-validator';
import type { Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend, type SecretMetadata } from '../../backends/secret-backend';
import { RotationRepository } from '../../rotation/rotation.repository';
import { IsSecretPath } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class ListSecretVersionsCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @IsSecretPath()
  path!: string;
}

export interface SecretVersionView {
  version: number;
  createdAt: string;
  deletedAt?: string;
  destroyed: boolean;
  /** For a version replaced by a rotation: until when it stays readable. */
  graceUntil?: string;
}

export interface ListSecretVersionsResult {
  path: string;
  currentVersion: number;
  oldestVersion: number;
  metadata: SecretMetadata;
  versions: SecretVersionView[];
}

/** A secret's kept versions and custom metadata (never values). */
@Injectable()
export class ListSecretVersionsUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    private readonly rotations: RotationRepository,
  ) {}

  async execute(input: ListSecretVersionsCommand): Promise<ListSecretVersionsResult> {
    const { caller, path } = toValidCommand(ListSecretVersionsCommand, input);
    return this.operations.run({ caller, action: 'versions', path }, async (tx) => {
      const v = await this.backend.versions(tx, path);
      const grace = await this.rotations.graceByVersion(tx, path);
      return {
        result: {
          path,
          currentVersion: v.currentVersion,
          oldestVersion: v.oldestVersion,
          metadata: v.metadata,
          versions: v.versions.map((x) => ({
            version: x.version,
            createdAt: x.createdAt.toISOString(),
            ...(x.deletedAt ? { deletedAt: x.deletedAt.toISOString() } : {}),
            destroyed: x.destroyed,
            ...(grace.has(x.version) ? { graceUntil: grace.get(x.version)!.toISOString() } : {}),
          })),
        },
        version: v.currentVersion,
      };
    });
  }
}
