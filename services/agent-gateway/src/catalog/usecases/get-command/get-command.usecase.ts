import { Injectable } from '@nestjs/common';
import { IsInt, IsNotEmpty, IsOptional, IsString, Matches, Min } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { toValidCommand } from '../../assert-valid';
import { CatalogRepository } from '../../catalog.repository';
import type { CatalogCommand } from '../../catalog.types';
import { LABEL_PATTERN, PRODUCTION } from '../../template-labels';

export class GetCommandQuery {
  @IsString()
  @IsNotEmpty()
  agent!: string;

  @IsString()
  @IsNotEmpty()
  command!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;

  @IsOptional()
  @IsString()
  @Matches(LABEL_PATTERN, { message: 'label must match ^[a-z][a-z0-9_-]{0,39}$' })
  label?: string;
}

/**
 * A command resolved to one version: `version`, else `label`, else `production`. 404 names what is
 * missing: the command, the version, or the label. 400 when both a version and a label are given.
 */
@Injectable()
export class GetCommandUseCase {
  constructor(private readonly catalog: CatalogRepository) {}

  async execute(input: GetCommandQuery): Promise<CatalogCommand> {
    const query = toValidCommand(GetCommandQuery, input);
    if (query.version !== undefined && query.label !== undefined)
      throw ApiError.badRequest('version', 'give a version or a label, not both');
    const summary = await this.catalog.getCommandSummary(query.agent, query.command);
    if (!summary) throw ApiError.notFound('command', `${query.agent}/${query.command}`);
    const resolved = await this.catalog.getCommand(query.agent, query.command, {
      version: query.version,
      label: query.label,
    });
    if (!resolved) {
      if (query.version !== undefined)
        throw ApiError.notFound('version', `${query.agent}/${query.command}@${query.version}`);
      throw ApiError.notFound('label', `${query.label ?? PRODUCTION} of ${query.agent}/${query.command}`);
    }
    return resolved;
  }
}
