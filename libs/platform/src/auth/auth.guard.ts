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

/** How many verified service credentials an authenticator remembers (one per calling service in practice). */
const MAX_VERIFIED = 256;

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
  /**
   * Credentials already verified against this authenticator's token, and their caller: a service sends
   * the same credential on every call, so the HMAC is computed once, not per request. Only valid
   * credentials are kept (a wrong one is verified, and refused, every time); bounded.
   */
  private readonly verified = new Map<string, string>();

  constructor(private readonly serviceToken: string) {}

  /** The calling service's name when `credential` is valid for this token. */
  verifyCaller(credential: string): string | undefined {
    const known = this.verified.get(credential);
    if (known !== undefined) return known;
    const caller = verifyServiceCredential(this.serviceToken, credential);
    if (caller !== undefined) {
      if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
      this.verified.set(credential, caller);
    }
    return caller;
  }

  async authenticate(request: AuthRequest): Promise<Identity | undefined> {
    const token = bearer(request.headers);
    if (!token) return undefined;
    const caller = this.verifyCaller(token);
    if (!caller) return undefined;
    const forwarded = verifyIdentity(this.serviceToken, request.headers);
    if (forwarded) return forwarded;
    return { kind: 'service', subject: caller, roles: [], via: 'service' };
  }
}

interface RouteAuth {
  cls: object;
  isPublic: boolean;
  callers: string[] | undefined;
  roles: Role[] | undefined;
}

/** The global guard: every route needs an identity unless @Public(); @RequireRoles and @ServiceOnly narrow it. */
@Injectable()
export class PlatformAuthGuard implements CanActivate {
  private internal: InternalAuthenticator;
  private custom?: Authenticator | null;
  private readonly routes = new WeakMap<object, RouteAuth>();

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

  /** A route's auth metadata, read once per handler and class (decorators do not change at run time). */
  private routeAuth(context: ExecutionContext): RouteAuth {
    const handler = context.getHandler();
    const cls = context.getClass();
    const cached = this.routes.get(handler);
    if (cached?.cls === cls) return cached;
    const targets = [handler, cls];
    const route: RouteAuth = {
      cls,
      isPublic: !!this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets),
      callers: this.reflector.getAllAndOverride<string[] | undefined>(SERVICE_ONLY, targets),
      roles: this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets),
    };
    this.routes.set(handler, route);
    return route;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { isPublic, callers, roles } = this.routeAuth(context);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthRequest & AuthenticatedRequest>();
    const identity = (await this.internal.authenticate(request)) ?? (await this.authenticator()?.authenticate(request));
    if (!identity) throw ApiError.unauthorized('missing or invalid credentials: send Authorization: Bearer <API key>');
    request.identity = identity;
    if (callers) {
      if (identity.kind !== 'service' || (callers.length > 0 && !callers.includes(identity.subject)))
        throw ApiError.forbidden('this endpoint is for the platform services only');
    }
    if (roles?.length && !(identity.kind === 'user' && identity.roles.some((r) => roles.includes(r))))
      throw ApiError.forbidden(`requires one of the roles: ${roles.join(', ')}`, 'forbidden_role');
    return true;
  }
}
