import { Global, Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { AUTHENTICATOR, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { EdgeModule } from '../edge/edge.module';
import { PlatformConfigModule } from '../platform-config/platform-config.module';
import { AGENT_ACCESS, AUDIT_LOG } from '../ports/gateway-ports';
import { ApiKeyRepository } from './api-keys/api-key.repository';
import { AuditLogRepository } from './audit/audit-log.repository';
import { AuditLogService } from './audit/audit-log.service';
import { AgentAccessService } from './auth/agent-access.service';
import { ExternalUserResolver } from './auth/external-user.resolver';
import { GatewayAuthenticator } from './auth/gateway.authenticator';
import { IdentityCache } from './auth/identity-cache';
import { LoginThrottle } from './auth/login-throttle';
import { ApiKeysController } from './controllers/api-keys.controller';
import { AuditLogsController } from './controllers/audit-logs.controller';
import { AuthController } from './controllers/auth.controller';
import { MeController } from './controllers/me.controller';
import { UsersController } from './controllers/users.controller';
import { IdentityKeyring } from './crypto/identity-keyring';
import { IDENTITY_SETTINGS, identitySettingsOf } from './identity-settings.provider';
import { BootstrapAdminUseCase } from './usecases/bootstrap-admin/bootstrap-admin.usecase';
import { ChangePasswordUseCase } from './usecases/change-password/change-password.usecase';
import { CreateApiKeyUseCase } from './usecases/create-api-key/create-api-key.usecase';
import { CreateUserUseCase } from './usecases/create-user/create-user.usecase';
import { DeleteUserUseCase } from './usecases/delete-user/delete-user.usecase';
import { GetAgentAccessUseCase } from './usecases/get-agent-access/get-agent-access.usecase';
import { GetMeUseCase } from './usecases/get-me/get-me.usecase';
import { GetUserUseCase } from './usecases/get-user/get-user.usecase';
import { ListApiKeysUseCase } from './usecases/list-api-keys/list-api-keys.usecase';
import { ListAuditLogsUseCase } from './usecases/list-audit-logs/list-audit-logs.usecase';
import { ListUsersUseCase } from './usecases/list-users/list-users.usecase';
import { LoginUseCase } from './usecases/login/login.usecase';
import { RevokeApiKeyUseCase } from './usecases/revoke-api-key/revoke-api-key.usecase';
import { SetAgentAccessUseCase } from './usecases/set-agent-access/set-agent-access.usecase';
import { SetUserRolesUseCase } from './usecases/set-user-roles/set-user-roles.usecase';
import { UpdateUserUseCase } from './usecases/update-user/update-user.usecase';
import { MeteringBudgetClient } from './users/metering-budget.client';
import { UserRepository } from './users/user.repository';

/**
 * Users, roles, agent permissions, API keys, JWT, bootstrap admin, audit log; with Platform
 * Configuration (providers, secrets client, SSRF) and the edge that forwards other services' routes.
 * Global: provides AUTHENTICATOR, AGENT_ACCESS, AUDIT_LOG, PROVIDER_CONFIGS and SECRET_STORE
 * (see ../ports/gateway-ports.ts) to every module of the gateway.
 */
@Global()
@Module({
  imports: [PlatformConfigModule, EdgeModule],
  controllers: [UsersController, ApiKeysController, MeController, AuthController, AuditLogsController],
  providers: [
    {
      provide: IDENTITY_SETTINGS,
      useFactory: (ctx: ServiceContext) => identitySettingsOf(ctx),
      inject: [SERVICE_CONTEXT],
    },
    IdentityKeyring,
    UserRepository,
    ApiKeyRepository,
    AuditLogRepository,
    AuditLogService,
    IdentityCache,
    ExternalUserResolver,
    GatewayAuthenticator,
    AgentAccessService,
    LoginThrottle,
    MeteringBudgetClient,
    { provide: AUTHENTICATOR, useExisting: GatewayAuthenticator },
    { provide: AGENT_ACCESS, useExisting: AgentAccessService },
    { provide: AUDIT_LOG, useExisting: AuditLogService },
    CreateUserUseCase,
    UpdateUserUseCase,
    DeleteUserUseCase,
    GetUserUseCase,
    ListUsersUseCase,
    SetUserRolesUseCase,
    GetAgentAccessUseCase,
    SetAgentAccessUseCase,
    CreateApiKeyUseCase,
    ListApiKeysUseCase,
    RevokeApiKeyUseCase,
    LoginUseCase,
    ChangePasswordUseCase,
    GetMeUseCase,
    ListAuditLogsUseCase,
    BootstrapAdminUseCase,
  ],
  exports: [
    IDENTITY_SETTINGS,
    AUTHENTICATOR,
    AGENT_ACCESS,
    AUDIT_LOG,
    AuditLogService,
    IdentityCache,
    PlatformConfigModule,
  ],
})
export class IdentityModule implements OnApplicationBootstrap {
  constructor(
    private readonly bootstrap: BootstrapAdminUseCase,
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'logger'>,
  ) {}

  /** First start: the admin user and their API key (after every module's onModuleInit). */
  async onApplicationBootstrap(): Promise<void> {
    await this.bootstrap.execute();
    this.ctx.logger.debug('identity ready');
  }
}
