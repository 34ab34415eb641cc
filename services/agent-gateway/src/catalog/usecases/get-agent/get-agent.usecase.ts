import { Injectable } from '@nestjs/common';
import { IsNotEmpty, IsString } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { toValidCommand } from '../../assert-valid';
import { CatalogRepository } from '../../catalog.repository';
import type { CatalogAgent } from '../../catalog.types';

export class GetAgentQuery {
  @IsString()
  @IsNotEmpty()
  slug!: string;
}

/** One agent with the names of its commands; 404 when there is no such agent. */
@Injectable()
export class GetAgentUseCase {
  constructor(private readonly catalog: CatalogRepository) {}

  async execute(input: GetAgentQuery): Promise<CatalogAgent & { commands: string[] }> {
    const { slug } = toValidCommand(GetAgentQuery, input);
    const agent = await this.catalog.getAgent(slug);
    if (!agent) throw ApiError.notFound('agent', slug);
    const commands = await this.catalog.listCommands(slug);
    return { ...agent, commands: commands.map((c) => c.name) };
  }
}
