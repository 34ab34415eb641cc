import { Inject, Injectable, Optional } from '@nestjs/common';
import { IsInt, IsNotEmpty, IsString, Matches, Min } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AUDIT_LOG, type AuditLogPort } from '../../../ports/gateway-ports';
import { toValidCommand } from '../../assert-valid';
import { CatalogRepository } from '../../catalog.repository';
import type { LabelMove } from '../../catalog.types';
import { LABEL_PATTERN, SYSTEM_LABELS } from '../../template-labels';

export class SetTemplateLabelCommand {
  @IsString()
  @IsNotEmpty()
  agent!: string;

  @IsString()
  @IsNotEmpty()
  command!: string;

  @IsString()
  @Matches(LABEL_PATTERN, { message: 'label must match ^[a-z][a-z0-9_-]{0,39}$' })
  label!: string;

  @IsInt()
  @Min(1)
  version!: number;

  @IsString()
  @IsNotEmpty()
  movedBy!: string;
}

export interface SetTemplateLabelResult {
  move: LabelMove;
  /** label -> version for the command after the move. */
  labels: Record<string, number>;
}

/**
 * Points a label at an existing version: promoting (`production` to a new version), rolling back
 * (`production` to an earlier one) or any custom label. `latest` and `seed` are the system's.
 * Once anyone but the seeder moves `production`, reseeding never moves it again.
 */
@Injectable()
export class SetTemplateLabelUseCase {
  constructor(
    private readonly catalog: CatalogRepository,
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    @Optional() @Inject(AUDIT_LOG) private readonly audit?: AuditLogPort,
  ) {}

  async execute(input: SetTemplateLabelCommand): Promise<SetTemplateLabelResult> {
    const command = toValidCommand(SetTemplateLabelCommand, input);
    if (SYSTEM_LABELS.includes(command.label))
      throw ApiError.badRequest(
        'label',
        `"${command.label}" is kept by the system and cannot be moved`,
        'reserved_label',
      );
    const summary = await this.catalog.getCommandSummary(command.agent, command.command);
    if (!summary) throw ApiError.notFound('command', `${command.agent}/${command.command}`);
    return this.ctx.db.transaction(async (tx) => {
      const move = await this.catalog.setLabel(
        command.agent,
        command.command,
        command.label,
        command.version,
        command.movedBy,
        tx,
      );
      if (!move) throw ApiError.notFound('version', `${command.agent}/${command.command}@${command.version}`);
      await this.audit?.record(
        {
          actor: command.movedBy,
          action: 'template.label_moved',
          resourceType: 'command_template',
          resourceId: `${command.agent}/${command.command}`,
          outcome: 'success',
          details: { label: command.label, from: move.fromVersion, to: move.toVersion },
        },
        tx,
      );
      const after = await this.catalog.getCommandSummary(command.agent, command.command, tx);
      return { move, labels: after?.labels ?? {} };
    });
  }
}
