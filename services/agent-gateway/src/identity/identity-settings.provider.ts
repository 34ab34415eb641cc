import { plainToInstance } from 'class-transformer';
import { declaredVariables, type ServiceContext } from '@hishamos/platform';
import { IdentitySettings } from '../config/identity.settings';

export const IDENTITY_SETTINGS = Symbol('IDENTITY_SETTINGS');

/**
 * The identity settings from the service's settings (its class extends IdentitySettings). When it does
 * not, the defaults are used and a warning says the identity variables are not read.
 */
export function identitySettingsOf(ctx: Pick<ServiceContext, 'settings' | 'logger'>): IdentitySettings {
  if (ctx.settings instanceof IdentitySettings) return ctx.settings;
  const given = (ctx.settings ?? {}) as Record<string, unknown>;
  const known: Record<string, unknown> = {};
  for (const name of declaredVariables(IdentitySettings)) if (given[name] !== undefined) known[name] = given[name];
  ctx.logger.warn(
    'the agent-gateway settings class does not extend IdentitySettings: JWT_SECRET_KEY, HISHAMOS_BOOTSTRAP_API_KEY and the other identity variables are not read',
  );
  return plainToInstance(IdentitySettings, known, { exposeDefaultValues: true });
}
