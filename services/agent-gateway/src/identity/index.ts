export { IdentityModule } from './identity.module';
export { startIdentityConsumers, consumeAuditEvents, consumeSecretRotations } from './consumers/identity.consumers';
export { AuditLogService } from './audit/audit-log.service';
export { IdentityCache } from './auth/identity-cache';
export { BOOTSTRAP_OUTPUT, type BootstrapOutput } from './usecases/bootstrap-admin/bootstrap-admin.usecase';
export { IdentitySettings, API_KEY_PATTERN } from '../config/identity.settings';
export { SsrfPolicy } from '../platform-config/ssrf/ssrf-policy.service';
export { SecretStoreClient } from '../platform-config/secrets/secret-store.client';
