import { Inject, Injectable } from '@nestjs/common';
import { IsDefined, IsObject } from 'class-validator';
import { Topics } from '@hishamos/contracts';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { actorOf, type Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend } from '../../backends/secret-backend';
import { SECRETS_SETTINGS, type SecretsSettings } from '../../config/secrets.settings';
import { SecretNotFoundError } from '../../domain/secret-errors';
import { CLOCK, type Clock } from '../../clock';
import { RotationRepository } from '../../rotation/rotation.repository';
import { IsSecretPath, IsSecretValue } from '../secret-command.fields';
import { toValidCommand } from '../to-valid-command';

export class RotateSecretCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  @IsSecretPath()
  path!: string;

  @IsSecretValue()
  value!: string;
}

export interface RotateSecretResult {
  path: string;
  version: number;
  previousVersion: number;
  graceUntil: string;
}

/**
 * Replaces a secret's value with a new version, check-and-set against the version it replaces (two
 * concurrent rotations cannot overwrite each other: one gets 409 cas_mismatch). The previous version
 * stays readable for SECRETS_ROTATION_GRACE_SECONDS, so calls that started with it can finish;
 * custom metadata gets rotated_at; SecretRotated (path and version, never the value) tells the gateway
 * and alerting to drop cached credentials. Value, rotation record, audit and event commit together.
 */
@Injectable()
export class RotateSecretUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    private readonly rotations: RotationRepository,
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'outbox'>,
    @Inject(SECRETS_SETTINGS) private readonly settings: SecretsSettings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(input: RotateSecretCommand): Promise<RotateSecretResult> {
    const command = toValidCommand(RotateSecretCommand, input);
    const { caller, path } = command;
    return this.operations.run({ caller, action: 'rotate', path }, async (tx) => {
      const current = await this.backend.versions(tx, path);
      const live = current.versions.find((v) => v.version === current.currentVersion);
      if (!live || live.deletedAt || live.destroyed) throw new SecretNotFoundError(path);
      const rotatedAt = this.clock.now();
      const written = await this.backend.write(tx, path, command.value, {
        cas: current.currentVersion,
        metadata: { rotated_at: rotatedAt.toISOString() },
        initialMetadata: { owner: actorOf(caller) },
      });
      const graceUntil = new Date(rotatedAt.getTime() + this.settings.SECRETS_ROTATION_GRACE_SECONDS * 1000);
      await this.rotations.insert(tx, {
        path,
        previousVersion: current.currentVersion,
        version: written.version,
        rotatedBy: actorOf(caller),
        graceUntil,
      });
      await this.ctx.outbox.add(
        tx,
        Topics.SecretRotated,
        { path, version: written.version, rotatedBy: actorOf(caller) },
        { key: path },
      );
      return {
        result: {
          path,
          version: written.version,
          previousVersion: current.currentVersion,
          graceUntil: graceUntil.toISOString(),
        },
        version: written.version,
        details: { previousVersion: current.currentVersion, graceUntil: graceUntil.toISOString() },
      };
    });
  }
}
