import { Module } from '@nestjs/common';
import { CatalogController } from './catalog.controller';
import { CatalogRepository } from './catalog.repository';
import { InternalTemplatesController } from './internal-templates.controller';
import { CreateTemplateVersionUseCase } from './usecases/create-template-version/create-template-version.usecase';
import { GetAgentUseCase } from './usecases/get-agent/get-agent.usecase';
import { GetCommandUseCase } from './usecases/get-command/get-command.usecase';
import { ListAgentsUseCase } from './usecases/list-agents/list-agents.usecase';
import { ListCommandsUseCase } from './usecases/list-commands/list-commands.usecase';
import { ListTemplateVersionsUseCase } from './usecases/list-template-versions/list-template-versions.usecase';
import { SeedCatalogUseCase } from './usecases/seed-catalog/seed-catalog.usecase';
import { SetTemplateLabelUseCase } from './usecases/set-template-label/set-template-label.usecase';

/**
 * The agent roster and command library in the gateway's database: seeding from seeds/, immutable
 * template versions, labels, and the HTTP API. Needs SERVICE_CONTEXT (global from the platform);
 * uses AUDIT_LOG when a module provides it globally.
 */
@Module({
  controllers: [CatalogController, InternalTemplatesController],
  providers: [
    CatalogRepository,
    SeedCatalogUseCase,
    ListAgentsUseCase,
    GetAgentUseCase,
    ListCommandsUseCase,
    GetCommandUseCase,
    ListTemplateVersionsUseCase,
    CreateTemplateVersionUseCase,
    SetTemplateLabelUseCase,
  ],
  exports: [CatalogRepository, SeedCatalogUseCase, GetCommandUseCase],
})
export class CatalogModule {}
