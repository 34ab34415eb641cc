import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  Matches,
  ValidateNested,
} from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../audit/audit-log.service';
import { IdentityCache } from '../../auth/identity-cache';
import { actorName, type AgentAccessDefault, type RequestActor } from '../../identity.types';
import { isUuid } from '../../sql-values';
import { AGENT_SLUG } from '../../users/user-fields';
import { UserRepository } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';
import { GetAgentAccessUseCase, type AgentAccessView } from '../get-agent-access/get-agent-access.usecase';

export class AgentToggle {
  @Matches(AGENT_SLUG, { message: 'slug must be an agent slug such as "legal" or "code-reviewer"' })
  slug!: string;

  @IsBoolean()
  allowed!: boolean;
}

export class SetAgentAccessCommand {
  /** What agents without a toggle mean for this user. */
  @IsOptional()
  @IsIn(['all', 'none'])
  defaultAgentAccess?: AgentAccessDefault;

  /** Toggles to set ("can use the legal agent?"). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @ValidateNested({ each: true })
  @Type(() => AgentToggle)
  agents?: AgentToggle[];

  /** Agents whose toggle is removed (they follow defaultAgentAccess again). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @ArrayUnique()
  @Matches(AGENT_SLUG, { each: true, message: 'each of reset must be an agent slug' })
  reset?: string[];
}

/** Sets a user's per-agent toggles and default (admin); unknown agents are refused; one audit row. */
@Injectable()
export class SetAgentAccessUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly users: UserRepository,
    private readonly cache: IdentityCache,
    private readonly audit: AuditLogService,
    private readonly view: GetAgentAccessUseCase,
  ) {}

  async execute(userId: string, input: SetAgentAccessCommand, actor: RequestActor): Promise<AgentAccessView> {
    const command = toValidCommand(SetAgentAccessCommand, input);
    if (!isUuid(userId)) throw ApiError.notFound('user', userId);
    const toggles = new Map((command.agents ?? []).map((a) => [a.slug, a.allowed]));
    if (toggles.size !== (command.agents ?? []).length)
      throw ApiError.badRequest('agents', 'an agent appears twice', 'validation_failed');
    const reset = command.reset ?? [];
    const both = reset.find((slug) => toggles.has(slug));
    if (both) throw ApiError.badRequest('reset', `${both} is both set and reset`, 'validation_failed');
    const roster = new Set(await this.users.agentSlugs());
    const unknown = [...toggles.keys()].find((slug) => !roster.has(slug));
    if (unknown) {
      const index = (command.agents ?? []).findIndex((a) => a.slug === unknown);
      throw new ApiError(400, 'unknown_agent', `agents.${index}.slug: no agent named ${unknown}`, {
        field: `agents.${index}.slug`,
        reason: 'unknown agent',
      });
    }
    try {
      await transactionWithHooks(this.ctx.db, async (tx) => {
        const user = await this.users.findById(userId, tx, { forUpdate: true });
        if (!user || user.status === 'deleted') throw ApiError.notFound('user', userId);
        const before = await this.users.agentOverrides(userId, tx);
        if (command.defaultAgentAccess && command.defaultAgentAccess !== user.defaultAgentAccess)
          await this.users.update(userId, { defaultAgentAccess: command.defaultAgentAccess }, tx);
        const by = actorName(actor.identity);
        await this.users.setAgentOverrides(
          userId,
          [...toggles].map(([agent, allowed]) => ({ agent, allowed })),
          reset,
          by,
          tx,
        );
        await this.audit.record(
          {
            actor: by,
            action: 'user.agent_access_changed',
            resourceType: 'user',
            resourceId: userId,
            outcome: 'success',
            ipAddress: actor.ip,
            userAgent: actor.userAgent,
            details: {
              ...(command.defaultAgentAccess
                ? { defaultAgentAccess: { from: user.defaultAgentAccess, to: command.defaultAgentAccess } }
                : {}),
              set: Object.fromEntries(
                [...toggles].map(([slug, allowed]) => [slug, { from: before.get(slug) ?? null, to: allowed }]),
              ),
              reset,
            },
          },
          tx,
        );
      });
    } finally {
      this.cache.invalidateUser(userId);
    }
    return this.view.execute(userId);
  }
}
