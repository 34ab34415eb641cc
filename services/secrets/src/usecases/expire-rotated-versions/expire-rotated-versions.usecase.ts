import { Inject, Injectable } from '@nestjs/common';
import { IsDate, IsInt, IsOptional, Max, Min } from 'class-validator';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { SYSTEM_CALLER } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { SECRET_BACKEND, type SecretBackend } from '../../backends/secret-backend';
import { SecretNotFoundError } from '../../domain/secret-errors';
import { CLOCK, type Clock } from '../../clock';
import { RotationRepository } from '../../rotation/rotation.repository';
import { toValidCommand } from '../to-valid-command';

export class ExpireRotatedVersionsCommand {
  @IsOptional()
  @IsDate()
  now?: Date;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

/**
 * Ends rotation grace periods: each version replaced by a rotation whose grace period is over is
 * soft-deleted (reads of it were already refused with 410). Safe with several replicas (row locks).
 */
@Injectable()
export class ExpireRotatedVersionsUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    private readonly rotations: RotationRepository,
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(input: ExpireRotatedVersionsCommand = {}): Promise<{ expired: number }> {
    const command = toValidCommand(ExpireRotatedVersionsCommand, input);
    const due = await this.rotations.dueIds(this.ctx.db, command.now ?? this.clock.now(), command.limit ?? 100);
    let expired = 0;
    for (const id of due) {
      const row = await this.rotations.findById(this.ctx.db, id);
      if (!row) continue;
      const done = await this.operations.run(
        { caller: SYSTEM_CALLER, action: 'expire', path: row.path, version: row.previous_version },
        async (tx) => {
          const locked = await this.rotations.lockDue(tx, id);
          if (!locked) return { result: false, skipAudit: true };
          try {
            await this.backend.softDelete(tx, locked.path, [locked.previous_version]);
          } catch (e) {
            if (!(e instanceof SecretNotFoundError)) throw e;
          }
          await this.rotations.markExpired(tx, id);
          return { result: true, details: { rotationId: id } };
        },
      );
      if (done) expired += 1;
    }
    return { expired };
  }
}
