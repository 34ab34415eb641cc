import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import type { CatalogAgent, CatalogCommand, CommandSummary, TemplateVersion } from './catalog.types';
import { CommandVersionQueryDto, CreateTemplateVersionDto, SetTemplateLabelDto } from './dto/catalog.dto';
import { CreateTemplateVersionUseCase } from './usecases/create-template-version/create-template-version.usecase';
import { GetAgentUseCase } from './usecases/get-agent/get-agent.usecase';
import { GetCommandUseCase } from './usecases/get-command/get-command.usecase';
import { ListAgentsUseCase } from './usecases/list-agents/list-agents.usecase';
import { ListCommandsUseCase } from './usecases/list-commands/list-commands.usecase';
import {
  ListTemplateVersionsUseCase,
  type TemplateVersionList,
} from './usecases/list-template-versions/list-template-versions.usecase';
import {
  SetTemplateLabelUseCase,
  type SetTemplateLabelResult,
} from './usecases/set-template-label/set-template-label.usecase';

/** The agent roster and the command library: anyone signed in reads; admins write versions and move labels. */
@Controller('v1/agents')
export class CatalogController {
  constructor(
    private readonly listAgents: ListAgentsUseCase,
    private readonly getAgent: GetAgentUseCase,
    private readonly listCommands: ListCommandsUseCase,
    private readonly getCommand: GetCommandUseCase,
    private readonly listVersions: ListTemplateVersionsUseCase,
    private readonly createVersion: CreateTemplateVersionUseCase,
    private readonly setLabel: SetTemplateLabelUseCase,
  ) {}

  @Get()
  async agents(): Promise<{ data: CatalogAgent[] }> {
    return { data: await this.listAgents.execute() };
  }

  @Get(':slug')
  agent(@Param('slug') slug: string): Promise<CatalogAgent & { commands: string[] }> {
    return this.getAgent.execute({ slug });
  }

  @Get(':slug/commands')
  async commands(@Param('slug') agent: string): Promise<{ data: CommandSummary[] }> {
    return { data: await this.listCommands.execute({ agent }) };
  }

  @Get(':slug/commands/:command')
  command(
    @Param('slug') agent: string,
    @Param('command') command: string,
    @Query() query: CommandVersionQueryDto,
  ): Promise<CatalogCommand> {
    return this.getCommand.execute({ agent, command, version: query.version, label: query.label });
  }

  @Get(':slug/commands/:command/versions')
  versions(@Param('slug') agent: string, @Param('command') command: string): Promise<TemplateVersionList> {
    return this.listVersions.execute({ agent, command });
  }

  @RequireRoles('admin')
  @Post(':slug/commands/:command/versions')
  @HttpCode(201)
  create(
    @Param('slug') agent: string,
    @Param('command') command: string,
    @Body() body: CreateTemplateVersionDto,
    @CurrentIdentity() identity: Identity,
  ): Promise<TemplateVersion> {
    return this.createVersion.execute({
      agent,
      command,
      template: body.template,
      inputSchema: body.inputSchema,
      outputSchema: body.outputSchema,
      note: body.note,
      labels: body.labels,
      createdBy: identity.subject,
      source: 'admin',
    });
  }

  @RequireRoles('admin')
  @Put(':slug/commands/:command/labels/:label')
  label(
    @Param('slug') agent: string,
    @Param('command') command: string,
    @Param('label') label: string,
    @Body() body: SetTemplateLabelDto,
    @CurrentIdentity() identity: Identity,
  ): Promise<SetTemplateLabelResult> {
    return this.setLabel.execute({ agent, command, label, version: body.version, movedBy: identity.subject });
  }
}
