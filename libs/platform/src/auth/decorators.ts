import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Identity, Role } from './identity';

export const PUBLIC_ROUTE = 'hishamos:public';
export const REQUIRED_ROLES = 'hishamos:roles';
export const SERVICE_ONLY = 'hishamos:service-only';

/** No authentication (health, metrics, sign-in, webhooks that authenticate themselves). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** The caller must be a person with one of these roles (403 otherwise). */
export const RequireRoles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);
/** Only the platform's services (optionally only these callers) may call this route. */
export const ServiceOnly = (...callers: string[]) => SetMetadata(SERVICE_ONLY, callers);

export interface AuthenticatedRequest {
  identity?: Identity;
}

/** The authenticated caller of the current request. */
export const CurrentIdentity = createParamDecorator((_data: unknown, ctx: ExecutionContext): Identity | undefined => {
  return ctx.switchToHttp().getRequest<AuthenticatedRequest>().identity;
});
