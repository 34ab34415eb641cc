import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../../identity/audit/audit-log.service';
import { actorName, type RequestActor } from '../../../identity/identity.types';
import { toValidCommand } from '../../../identity/validate-command';
import { AllowedHostRepository } from '../../provider-config.repository';
import { normalizeHost } from '../../ssrf/ssrf-guard';
import { SsrfPolicy } from '../../ssrf/ssrf-policy.service';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export class AllowHostCommand {
  /** A host name or IP address as it appears in base URLs (e.g. `127.0.0.1`, `vllm.internal`, `::1`). */
  @IsString()
  @MinLength(1)
  @MaxLength(253)
  host!: string;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

export function validHost(raw: string): string {
  const host = normalizeHost(raw);
  if (!isIP(host) && !HOSTNAME.test(host))
    throw ApiError.badRequest(
      'host',
      'must be a host name or an IP address (no scheme, port or path)',
      'validation_failed',
    );
  return host;
}

/** Allows a host that SSRF rules would block as a provider base URL (admin; audited). */
@Injectable()
export class AllowHostUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly hosts: AllowedHostRepository,
    private readonly ssrf: SsrfPolicy,
    private readonly audit: AuditLogService,
  ) {}

  async execute(input: AllowHostCommand, actor: RequestActor): Promise<{ host: string; added: boolean }> {
    const command = toValidCommand(AllowHostCommand, input);
    const host = validHost(command.host);
    const by = actorName(actor.identity);
    const added = await transactionWithHooks(this.ctx.db, async (tx) => {
      const inserted = await this.hosts.add(host, command.note ?? null, by, tx);
      if (inserted)
        await this.audit.record(
          {
            actor: by,
            action: 'provider.allowed_host_added',
            resourceType: 'allowed_host',
            resourceId: host,
            outcome: 'success',
            ipAddress: actor.ip,
            userAgent: actor.userAgent,
            details: { note: command.note ?? null },
          },
          tx,
        );
      return inserted;
    });
    await this.ssrf.refresh(true);
    return { host, added };
  }
}
