import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { ApiError } from '../http/api-error';
import { SERVICE_CONTEXT, type ServiceContext } from '../service-context';
import { PUBLIC_ROUTE, REQUIRED_ROLES, SERVICE_ONLY, type AuthenticatedRequest } from './decorators';
import { verifyIdentity, verifyServiceCredential, type Identity, type Role } from './identity';

export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  method?: string;
  url?: string;
}

/**
 * Resolves a request's credentials to an identity. The gateway provides one for people (API keys,
 * JWTs) under the AUTHENTICATOR token; every service falls back to the internal one.
 * Returns undefined when no credentials were presented; throws ApiError(401) for bad ones.
 */
export interface Authenticator {
  authenticate(request: AuthRequest): Promise<Identity | undefined>;
}
export const AUTHENTICATOR = Symbol('AUTHENTICATOR');

function bearer(headers: AuthRequest['headers']): string | undefined {
  const h = headers['authorization'];
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h.trim());
  return m?.[1];
}

/**
 * Service-to-service credentials (`serviceCredential`), optionally carrying a person's identity
 * signed by the gateway (the edge forwards requests on their behalf).
 */
export class InternalAuthenticator implements Authenticator {
  constructor(private readonly serviceToken: string) {}

  async authenticate(request: AuthRequest): Promise<Identity | undefined> {
    const token = bearer(request.headers);
    if (!token) return undefined;
    const caller = verifyServiceCredential(this.serviceToken, token);
    if (!caller) return undefined;
    const forwarded = verifyIdentity(this.serviceToken, request.headers);
    if (forwarded) return forwarded;
    return { kind: 'service', subject: caller, roles: [], via: 'service' };
  }
}

/** The global guard: every route needs an identity unless @Public(); @RequireRoles and @ServiceOnly narrow it. */
@Injectable()
export class PlatformAuthGuard implements CanActivate {
  private internal: InternalAuthenticator;
  private custom?: Authenticator | null;

  constructor(
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
    @Inject(SERVICE_CONTEXT) ctx: ServiceContext,
  ) {
    this.internal = new InternalAuthenticator(ctx.config.SERVICE_TOKEN ?? '');
  }

  private authenticator(): Authenticator | undefined {
    if (this.custom === undefined) {
      try {
        this.custom = this.moduleRef.get<Authenticator>(AUTHENTICATOR, { strict: false });
      } catch {
        this.custom = null;
      }
    }
    return this.custom ?? undefined;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthRequest & AuthenticatedRequest>();
    const identity = (await this.internal.authenticate(request)) ?? (await this.authenticator()?.authenticate(request));
    if (!identity) throw ApiError.unauthorized('missing or invalid credentials: send Authorization: Bearer <API key>');
    request.identity = identity;
    const callers = this.reflector.getAllAndOverride<string[] | undefined>(SERVICE_ONLY, targets);
    if (callers) {
      if (identity.kind !== 'service' || (callers.length > 0 && !callers.includes(identity.subject)))
        throw ApiError.forbidden('this endpoint is for the platform services only');
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (roles?.length && !(identity.kind === 'user' && identity.roles.some((r) => roles.includes(r))))
      throw ApiError.forbidden(`requires one of the roles: ${roles.join(', ')}`, 'forbidden_role');
    return true;
  }
}
