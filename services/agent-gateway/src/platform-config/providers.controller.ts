import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { RequireRoles } from '@hishamos/platform';
import type { RequestActor } from '../identity/identity.types';
import { Actor } from '../identity/request-actor.decorator';
import { AllowedHostRepository } from './provider-config.repository';
import type { ProviderView } from './provider-view';
import { AllowHostCommand, AllowHostUseCase } from './usecases/allow-host/allow-host.usecase';
import { CreateProviderCommand, CreateProviderUseCase } from './usecases/create-provider/create-provider.usecase';
import { DeleteProviderUseCase } from './usecases/delete-provider/delete-provider.usecase';
import { DisallowHostUseCase } from './usecases/disallow-host/disallow-host.usecase';
import { ListProvidersUseCase } from './usecases/list-providers/list-providers.usecase';
import {
  TestProviderConnectionUseCase,
  type ConnectionTestResult,
} from './usecases/test-provider-connection/test-provider-connection.usecase';
import { UpdateProviderCommand, UpdateProviderUseCase } from './usecases/update-provider/update-provider.usecase';

/** The hosts admins allowed as provider base URLs although SSRF rules would block them. */
@RequireRoles('admin')
@Controller('v1/providers/allowed-hosts')
export class AllowedHostsController {
  constructor(
    private readonly hosts: AllowedHostRepository,
    private readonly allow: AllowHostUseCase,
    private readonly disallow: DisallowHostUseCase,
  ) {}

  @Get()
  async list(): Promise<{ data: Awaited<ReturnType<AllowedHostRepository['list']>> }> {
    return { data: await this.hosts.list() };
  }

  @Post()
  add(@Body() body: AllowHostCommand, @Actor() actor: RequestActor): Promise<{ host: string; added: boolean }> {
    return this.allow.execute(body, actor);
  }

  @Delete(':host')
  remove(@Param('host') host: string, @Actor() actor: RequestActor): Promise<{ host: string; removed: true }> {
    return this.disallow.execute(host, actor);
  }
}

/** Platform Configuration (the seed's screen 3.1): LLM providers, admins only. */
@RequireRoles('admin')
@Controller('v1/providers')
export class ProvidersController {
  constructor(
    private readonly listProviders: ListProvidersUseCase,
    private readonly createProvider: CreateProviderUseCase,
    private readonly updateProvider: UpdateProviderUseCase,
    private readonly deleteProvider: DeleteProviderUseCase,
    private readonly testConnection: TestProviderConnectionUseCase,
  ) {}

  @Get()
  async list(): Promise<{ data: ProviderView[] }> {
    return { data: await this.listProviders.execute() };
  }

  @Post()
  create(@Body() body: CreateProviderCommand, @Actor() actor: RequestActor): Promise<ProviderView> {
    return this.createProvider.execute(body, actor);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<ProviderView> {
    return this.listProviders.one(id);
  }

  @Patch(':id')
  update(
    @Param('id') id: string,
    @Body() body: UpdateProviderCommand,
    @Actor() actor: RequestActor,
  ): Promise<ProviderView> {
    return this.updateProvider.execute(id, body, actor);
  }

  @Delete(':id')
  remove(@Param('id') id: string, @Actor() actor: RequestActor): Promise<ProviderView> {
    return this.deleteProvider.execute(id, actor);
  }

  /** "Test Connection": the provider's model list with its key; success or the provider's error. */
  @Post(':id/test')
  @HttpCode(200)
  test(@Param('id') id: string): Promise<ConnectionTestResult> {
    return this.testConnection.execute(id);
  }
}
