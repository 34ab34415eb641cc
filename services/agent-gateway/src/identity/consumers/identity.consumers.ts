import type { INestApplicationContext } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import type { ServiceContext } from '@hishamos/platform';
import { SECRET_STORE, type SecretStorePort } from '../../ports/gateway-ports';
import { AuditLogService } from '../audit/audit-log.service';

/**
 * SecretRotated -> drop the cached value of that path (the next read fetches the new version; calls
 * that read the old one finish with it). Subscribe in the service's onStart.
 */
export async function consumeSecretRotations(ctx: ServiceContext, app: INestApplicationContext): Promise<void> {
  const secrets = app.get<SecretStorePort>(SECRET_STORE, { strict: false });
  await ctx.subscribe(Topics.SecretRotated, async (event, { tx }) => {
    const hooks = tx as typeof tx & { onCommit?: (fn: () => void) => void };
    secrets.invalidate(event.payload.path);
    // Again once the consumer's transaction has committed, in case a read raced the first drop.
    hooks.onCommit?.(() => secrets.invalidate(event.payload.path));
  });
}

/** AuditRecorded from other services (e.g. secrets reads and rotations) -> the gateway's audit log, once per event. */
export async function consumeAuditEvents(ctx: ServiceContext, app: INestApplicationContext): Promise<void> {
  const audit = app.get(AuditLogService, { strict: false });
  await ctx.subscribe(Topics.AuditRecorded, async (event, { tx }) => {
    await audit.importEvent(event, tx);
  });
}

/** Both identity consumers: call from the gateway's `onStart(ctx, app)`. */
export async function startIdentityConsumers(ctx: ServiceContext, app: INestApplicationContext): Promise<void> {
  await consumeSecretRotations(ctx, app);
  await consumeAuditEvents(ctx, app);
}
