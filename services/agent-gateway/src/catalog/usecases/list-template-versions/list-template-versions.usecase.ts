import { Injectable } from '@nestjs/common';
import { IsNotEmpty, IsString } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { toValidCommand } from '../../assert-valid';
import { CatalogRepository } from '../../catalog.repository';
import type { LabelMove, TemplateVersion } from '../../catalog.types';

export class ListTemplateVersionsQuery {
  @IsString()
  @IsNotEmpty()
  agent!: string;

  @IsString()
  @IsNotEmpty()
  command!: string;
}

export interface TemplateVersionList {
  /** Newest first. */
  data: TemplateVersion[];
  /** label -> version. */
  labels: Record<string, number>;
  /** Label moves, newest first (rollbacks included). */
  history: LabelMove[];
}

/** Every version of a command, its labels and the history of label moves; 404 when there is no such command. */
@Injectable()
export class ListTemplateVersionsUseCase {
  constructor(private readonly catalog: CatalogRepository) {}

  async execute(input: ListTemplateVersionsQuery): Promise<TemplateVersionList> {
    const { agent, command } = toValidCommand(ListTemplateVersionsQuery, input);
    const summary = await this.catalog.getCommandSummary(agent, command);
    if (!summary) throw ApiError.notFound('command', `${agent}/${command}`);
    const [data, history] = await Promise.all([
      this.catalog.listVersions(agent, command),
      this.catalog.labelHistory(agent, command),
    ]);
    return { data, labels: summary.labels, history };
  }
}
