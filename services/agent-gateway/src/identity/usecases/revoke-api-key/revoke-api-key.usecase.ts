import { Inject, Injectable } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ApiKeyRepository } from '../../api-keys/api-key.repository';
import { AuditLogService } from '../../audit/audit-log.service';
import { IdentityCache } from '../../auth/identity-cache';
import { actorName, type ApiKeyView, type RequestActor } from '../../identity.types';
import { isUuid } from '../../sql-values';

/**
 * Revokes an API key (its owner or an admin). It stops working on this gateway at once (the cache
 * entry is dropped after the commit) and on other replicas within API_KEY_CACHE_TTL_SECONDS.
 * Revoking a revoked key changes nothing and answers the key as it is.
 */
@Injectable()
export class RevokeApiKeyUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly apiKeys: ApiKeyRepository,
    private readonly cache: IdentityCache,
    private readonly audit: AuditLogService,
  ) {}

  async execute(keyId: string, actor: RequestActor): Promise<ApiKeyView> {
    const key = isUuid(keyId) ? await this.apiKeys.findById(keyId) : undefined;
    const me = actor.identity;
    const isAdmin = me.kind === 'user' && me.roles.includes('admin');
    // Someone else's key is "not found" to a non-admin (no probing other users' key ids).
    if (!key || (key.userId !== me.subject && !isAdmin)) throw ApiError.notFound('api_key', keyId);
    if (key.status === 'revoked') return key;
    try {
      const revoked = await transactionWithHooks(this.ctx.db, async (tx) => {
        const row = await this.apiKeys.revoke(keyId, actorName(me), tx);
        if (!row) return undefined;
        await this.audit.record(
          {
            actor: actorName(me),
            action: 'api_key.revoked',
            resourceType: 'api_key',
            resourceId: keyId,
            outcome: 'success',
            ipAddress: actor.ip,
            userAgent: actor.userAgent,
            details: { userId: row.userId, prefix: row.prefix, name: row.name },
          },
          tx,
        );
        return row;
      });
      return revoked ?? (await this.apiKeys.findById(keyId))!;
    } finally {
      this.cache.invalidateKey(key.prefix);
    }
  }
}
