import { Injectable } from '@nestjs/common';
import { IsNotEmpty, IsString } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { toValidCommand } from '../../assert-valid';
import { CatalogRepository } from '../../catalog.repository';
import type { CommandSummary } from '../../catalog.types';

export class ListCommandsQuery {
  @IsString()
  @IsNotEmpty()
  agent!: string;
}

/** An agent's commands with their labels and production schemas; 404 when there is no such agent. */
@Injectable()
export class ListCommandsUseCase {
  constructor(private readonly catalog: CatalogRepository) {}

  async execute(input: ListCommandsQuery): Promise<CommandSummary[]> {
    const { agent } = toValidCommand(ListCommandsQuery, input);
    if (!(await this.catalog.getAgent(agent))) throw ApiError.notFound('agent', agent);
    return this.catalog.listCommands(agent);
  }
}
