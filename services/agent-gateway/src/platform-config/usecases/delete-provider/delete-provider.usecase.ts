import { Inject, Injectable } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../../identity/audit/audit-log.service';
import { actorName, type RequestActor } from '../../../identity/identity.types';
import { ProviderConfigRepository } from '../../provider-config.repository';
import { providerView, type ProviderView } from '../../provider-view';
import { ProviderConfigsService } from '../../provider-configs.service';
import { SecretStoreClient } from '../../secrets/secret-store.client';

/** Removes a provider (admin) and soft-deletes its key in the secrets service. */
@Injectable()
export class DeleteProviderUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db' | 'logger'>,
    private readonly providers: ProviderConfigRepository,
    private readonly configs: ProviderConfigsService,
    private readonly secrets: SecretStoreClient,
    private readonly audit: AuditLogService,
  ) {}

  async execute(id: string, actor: RequestActor): Promise<ProviderView> {
    const by = actorName(actor.identity);
    const removed = await transactionWithHooks(this.ctx.db, async (tx) => {
      const row = await this.providers.get(id, tx, { forUpdate: true });
      if (!row) throw ApiError.notFound('provider', id);
      await this.providers.delete(id, tx);
      await this.audit.record(
        {
          actor: by,
          action: 'provider.deleted',
          resourceType: 'provider',
          resourceId: id,
          outcome: 'success',
          ipAddress: actor.ip,
          userAgent: actor.userAgent,
          details: { kind: row.kind, name: row.name, apiKeySet: row.apiKeyPath !== null },
        },
        tx,
      );
      return row;
    });
    if (removed.apiKeyPath)
      await this.secrets
        .delete(removed.apiKeyPath)
        .catch((error: Error) =>
          this.ctx.logger.warn(
            { provider: id, err: error.message },
            'provider removed but its key not deleted in the secrets service',
          ),
        );
    await this.configs.changed(id);
    return providerView(removed);
  }
}
