import { Inject, Injectable } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../../identity/audit/audit-log.service';
import { actorName, type RequestActor } from '../../../identity/identity.types';
import { AllowedHostRepository } from '../../provider-config.repository';
import { SsrfPolicy } from '../../ssrf/ssrf-policy.service';
import { validHost } from '../allow-host/allow-host.usecase';

/** Takes a host off the allow-list (admin; audited). Providers using it fail their next connection. */
@Injectable()
export class DisallowHostUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly hosts: AllowedHostRepository,
    private readonly ssrf: SsrfPolicy,
    private readonly audit: AuditLogService,
  ) {}

  async execute(rawHost: string, actor: RequestActor): Promise<{ host: string; removed: true }> {
    const host = validHost(rawHost);
    const by = actorName(actor.identity);
    await transactionWithHooks(this.ctx.db, async (tx) => {
      if (!(await this.hosts.remove(host, tx))) throw ApiError.notFound('allowed_host', host);
      await this.audit.record(
        {
          actor: by,
          action: 'provider.allowed_host_removed',
          resourceType: 'allowed_host',
          resourceId: host,
          outcome: 'success',
          ipAddress: actor.ip,
          userAgent: actor.userAgent,
        },
        tx,
      );
    });
    await this.ssrf.refresh(true);
    return { host, removed: true };
  }
}
