import { Injectable } from '@nestjs/common';
import { CatalogRepository } from '../../catalog.repository';
import type { CatalogAgent } from '../../catalog.types';

/** The agent roster, by slug. */
@Injectable()
export class ListAgentsUseCase {
  constructor(private readonly catalog: CatalogRepository) {}

  execute(): Promise<CatalogAgent[]> {
    return this.catalog.listAgents();
  }
}
