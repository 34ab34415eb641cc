import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiError, type AuthenticatedRequest } from '@hishamos/platform';
import type { RequestActor } from './identity.types';

interface RequestLike extends AuthenticatedRequest {
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
}

export function actorOf(request: RequestLike): RequestActor {
  if (!request.identity) throw ApiError.unauthorized();
  const ua = request.headers['user-agent'];
  return {
    identity: request.identity,
    ip: request.ip,
    userAgent: (Array.isArray(ua) ? ua[0] : ua)?.slice(0, 500),
  };
}

/** The authenticated caller with the request's IP address and user agent (for the audit log). */
export const Actor = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestActor => {
  return actorOf(ctx.switchToHttp().getRequest<RequestLike>());
});
