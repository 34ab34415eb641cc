import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import {
  ApiError,
  safeEqual,
  settingsOf,
  SERVICE_CONTEXT,
  verifyServiceCredential,
  type ServiceContext,
} from '@hishamos/platform';
import type { AlertingSettings } from '../config/alerting.settings';

/**
 * Alertmanager's bearer token (its credentials_file): ALERTMANAGER_WEBHOOK_TOKEN, or any platform
 * service credential. The route is @Public() for the global guard; this guard is its authentication.
 */
@Injectable()
export class AlertmanagerTokenGuard implements CanActivate {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    const header = req.headers['authorization'];
    const token = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1] : undefined;
    if (!token)
      throw ApiError.unauthorized('send Authorization: Bearer <token> (Alertmanager http_config.authorization)');
    const expected = settingsOf<AlertingSettings>(this.ctx).ALERTMANAGER_WEBHOOK_TOKEN;
    if (expected && safeEqual(token, expected)) return true;
    const serviceToken = this.ctx.config.SERVICE_TOKEN;
    if (serviceToken && verifyServiceCredential(serviceToken, token)) return true;
    throw ApiError.unauthorized('invalid Alertmanager webhook token');
  }
}
