import { Module } from '@nestjs/common';
import { PROVIDER_CONFIGS, SECRET_STORE } from '../ports/gateway-ports';
import { AllowedHostRepository, ProviderConfigRepository } from './provider-config.repository';
import { ProviderConfigsService } from './provider-configs.service';
import { AllowedHostsController, ProvidersController } from './providers.controller';
import { SecretStoreClient } from './secrets/secret-store.client';
import { SsrfPolicy } from './ssrf/ssrf-policy.service';
import { AllowHostUseCase } from './usecases/allow-host/allow-host.usecase';
import { CreateProviderUseCase } from './usecases/create-provider/create-provider.usecase';
import { DeleteProviderUseCase } from './usecases/delete-provider/delete-provider.usecase';
import { DisallowHostUseCase } from './usecases/disallow-host/disallow-host.usecase';
import { ListProvidersUseCase } from './usecases/list-providers/list-providers.usecase';
import { TestProviderConnectionUseCase } from './usecases/test-provider-connection/test-provider-connection.usecase';
import { UpdateProviderUseCase } from './usecases/update-provider/update-provider.usecase';

/**
 * Platform Configuration: providers (PROVIDER_CONFIGS), their keys in the secrets service
 * (SECRET_STORE), the SSRF policy and its allow-list. Needs AUDIT_LOG's service and IDENTITY_SETTINGS
 * from the (global) IdentityModule, which imports and re-exports this module.
 */
@Module({
  controllers: [AllowedHostsController, ProvidersController],
  providers: [
    ProviderConfigRepository,
    AllowedHostRepository,
    ProviderConfigsService,
    SecretStoreClient,
    SsrfPolicy,
    { provide: PROVIDER_CONFIGS, useExisting: ProviderConfigsService },
    { provide: SECRET_STORE, useExisting: SecretStoreClient },
    ListProvidersUseCase,
    CreateProviderUseCase,
    UpdateProviderUseCase,
    DeleteProviderUseCase,
    TestProviderConnectionUseCase,
    AllowHostUseCase,
    DisallowHostUseCase,
  ],
  exports: [PROVIDER_CONFIGS, SECRET_STORE, ProviderConfigsService, SecretStoreClient, SsrfPolicy],
})
export class PlatformConfigModule {}
