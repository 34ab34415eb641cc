import { resolve } from 'node:path';
import { Module } from '@nestjs/common';
import { SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import { SecretAccessPolicy } from './access/secret-access.policy';
import { AuditLogRepository } from './audit/audit-log.repository';
import { AuditedOperationService } from './audit/audited-operation.service';
import { defaultBackendRegistry } from './backends/default-backends';
import { SECRET_BACKEND, type SecretBackend } from './backends/secret-backend';
import { selectSecretBackend, SecretBackendRegistry } from './backends/secret-backend.registry';
import { CLOCK, SystemClock } from './clock';
import { SECRETS_SETTINGS, SecretsSettings } from './config/secrets.settings';
import { PlatformKeysController } from './http/platform-keys.controller';
import { SecretsAdminController } from './http/secrets-admin.controller';
import { SecretsController } from './http/secrets.controller';
import { RotationRepository } from './rotation/rotation.repository';
import { SecretsMetrics } from './secrets.metrics';
import { SecretsScheduler } from './secrets.scheduler';
import { DeleteSecretUseCase } from './usecases/delete-secret/delete-secret.usecase';
import { DestroySecretVersionsUseCase } from './usecases/destroy-secret-versions/destroy-secret-versions.usecase';
import { ExpireRotatedVersionsUseCase } from './usecases/expire-rotated-versions/expire-rotated-versions.usecase';
import { GetPlatformKeyUseCase } from './usecases/get-platform-key/get-platform-key.usecase';
import { GetSecretUseCase } from './usecases/get-secret/get-secret.usecase';
import { ListSecretVersionsUseCase } from './usecases/list-secret-versions/list-secret-versions.usecase';
import { ListSecretsUseCase } from './usecases/list-secrets/list-secrets.usecase';
import { PutSecretUseCase } from './usecases/put-secret/put-secret.usecase';
import { RotateMasterKeyUseCase } from './usecases/rotate-master-key/rotate-master-key.usecase';
import { RotatePlatformKeyUseCase } from './usecases/rotate-platform-key/rotate-platform-key.usecase';
import { RotateSecretUseCase } from './usecases/rotate-secret/rotate-secret.usecase';
import { StorePlatformKeyUseCase } from './usecases/store-platform-key/store-platform-key.usecase';
import { UndeleteSecretUseCase } from './usecases/undelete-secret/undelete-secret.usecase';

/** Registry of secret backends; tests may provide their own. */
export const SECRET_BACKEND_REGISTRY = Symbol('SECRET_BACKEND_REGISTRY');

/**
 * The secrets service: Vault KV v2 or the local encrypted store (chosen at boot, shown in
 * /health/ready), the internal API with per-caller scopes, rotation with a grace period, master-key
 * rotation, and an audit record for every operation.
 */
@Module({
  controllers: [SecretsController, PlatformKeysController, SecretsAdminController],
  providers: [
    {
      provide: SECRETS_SETTINGS,
      inject: [SERVICE_CONTEXT],
      useFactory: (ctx: ServiceContext) => settingsOf<SecretsSettings>(ctx),
    },
    {
      provide: SecretAccessPolicy,
      inject: [SECRETS_SETTINGS],
      useFactory: (s: SecretsSettings) =>
        new SecretAccessPolicy({
          scopesJson: s.SECRETS_SCOPES,
          adminScopes: s.SECRETS_ADMIN_SCOPES,
          adminCanReadValues: s.SECRETS_ADMIN_CAN_READ_VALUES,
          adminServices: s.SECRETS_ADMIN_SERVICES,
        }),
    },
    {
      provide: SecretsMetrics,
      inject: [SERVICE_CONTEXT],
      useFactory: (ctx: ServiceContext) => new SecretsMetrics(ctx.metrics),
    },
    { provide: CLOCK, useClass: SystemClock },
    { provide: SECRET_BACKEND_REGISTRY, useFactory: (): SecretBackendRegistry => defaultBackendRegistry() },
    {
      provide: SECRET_BACKEND,
      inject: [SERVICE_CONTEXT, SECRETS_SETTINGS, SECRET_BACKEND_REGISTRY, SecretsMetrics],
      useFactory: async (
        ctx: ServiceContext,
        settings: SecretsSettings,
        registry: SecretBackendRegistry,
        metrics: SecretsMetrics,
      ): Promise<SecretBackend> => {
        const { backend, fallbackReason } = await selectSecretBackend(registry, {
          settings,
          db: ctx.db,
          logger: ctx.logger,
          mode: ctx.config.HISHAMOS_MODE,
          dataDir: resolve(ctx.config.HISHAMOS_DATA_DIR),
        });
        metrics.backend.set({ backend: backend.id }, 1);
        ctx.addReadinessCheck('secrets_backend', async () => ({
          ...(await backend.health()),
          ...(fallbackReason ? { vaultConfigured: true, vaultError: fallbackReason } : {}),
        }));
        ctx.logger.info({ backend: backend.id }, 'secret backend selected');
        return backend;
      },
    },
    AuditLogRepository,
    RotationRepository,
    AuditedOperationService,
    PutSecretUseCase,
    GetSecretUseCase,
    ListSecretVersionsUseCase,
    RotateSecretUseCase,
    DeleteSecretUseCase,
    UndeleteSecretUseCase,
    DestroySecretVersionsUseCase,
    ListSecretsUseCase,
    StorePlatformKeyUseCase,
    GetPlatformKeyUseCase,
    RotatePlatformKeyUseCase,
    RotateMasterKeyUseCase,
    ExpireRotatedVersionsUseCase,
    SecretsScheduler,
  ],
  exports: [SECRET_BACKEND],
})
export class SecretsModule {}
