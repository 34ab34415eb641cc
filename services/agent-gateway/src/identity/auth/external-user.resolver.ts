import { Inject, Injectable } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { IdentitySettings } from '../../config/identity.settings';
import { AuditLogService } from '../audit/audit-log.service';
import type { JwtClaims } from '../crypto/jwt';
import { IDENTITY_SETTINGS } from '../identity-settings.provider';
import { UserRepository } from '../users/user.repository';
import { IdentityCache } from './identity-cache';

/**
 * Maps an identity provider's person (`iss` + `sub`) to a HishamOS user: the user linked before; else
 * the live user with the token's (verified) email, linked now; else, with JWT_AUTO_PROVISION, a new
 * user with JWT_DEFAULT_ROLE. Each link and creation is audited.
 */
@Injectable()
export class ExternalUserResolver {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    @Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings,
    private readonly users: UserRepository,
    private readonly cache: IdentityCache,
    private readonly audit: AuditLogService,
  ) {}

  async resolve(claims: JwtClaims & { iss: string; sub: string }): Promise<string> {
    const known = this.cache.externalUserId(claims.iss, claims.sub);
    if (known) return known;
    const key = `${claims.iss}\u0000${claims.sub}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.lookup(claims).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const id = await pending;
    this.cache.rememberExternal(claims.iss, claims.sub, id);
    return id;
  }

  private async lookup(claims: JwtClaims & { iss: string; sub: string }): Promise<string> {
    const linked = await this.users.findByExternal(claims.iss, claims.sub);
    if (linked) return linked.id;
    const email = typeof claims.email === 'string' && claims.email_verified !== false ? claims.email : undefined;
    return transactionWithHooks(this.ctx.db, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`external-user:${claims.iss}:${claims.sub}`]);
      const again = await this.users.findByExternal(claims.iss, claims.sub, tx);
      if (again) return again.id;
      const byEmail = email ? await this.users.findByEmail(email, tx) : undefined;
      if (byEmail && !byEmail.externalSubject) {
        await this.users.update(byEmail.id, { externalIssuer: claims.iss, externalSubject: claims.sub }, tx);
        await this.audit.record(
          {
            actor: 'system:identity-provider',
            action: 'user.identity_linked',
            resourceType: 'user',
            resourceId: byEmail.id,
            outcome: 'success',
            details: { issuer: claims.iss, subject: claims.sub },
          },
          tx,
        );
        return byEmail.id;
      }
      if (!this.settings.JWT_AUTO_PROVISION)
        throw new ApiError(401, 'unknown_user', 'no HishamOS user for this identity: ask an admin to create one', {
          field: 'authorization',
          reason: 'unknown user',
        });
      const host = (() => {
        try {
          return new URL(claims.iss).hostname || 'idp';
        } catch {
          return 'idp';
        }
      })();
      const name =
        (typeof claims.name === 'string' && claims.name) ||
        (typeof claims.preferred_username === 'string' && claims.preferred_username) ||
        email ||
        claims.sub;
      const created = await this.users.insert(
        {
          email: byEmail ? `${claims.sub}@${host}` : (email ?? `${claims.sub}@${host}`),
          name: name.slice(0, 200),
          passwordHash: null,
          roles: [this.settings.JWT_DEFAULT_ROLE],
          teamId: null,
          defaultAgentAccess: this.settings.DEFAULT_AGENT_ACCESS,
          externalIssuer: claims.iss,
          externalSubject: claims.sub,
          createdBy: 'system:identity-provider',
        },
        tx,
      );
      await this.audit.record(
        {
          actor: 'system:identity-provider',
          action: 'user.provisioned',
          resourceType: 'user',
          resourceId: created.id,
          outcome: 'success',
          details: { issuer: claims.iss, subject: claims.sub, roles: created.roles },
        },
        tx,
      );
      return created.id;
    });
  }
}
