import { Injectable } from '@nestjs/common';
import { CatalogRepository } from '../catalog/catalog.repository';
import type { CatalogAgent } from '../catalog/catalog.types';

const TTL_MS = 5_000;

/**
 * The agent roster for the hot path (`agent/<slug>` models, /v1/models, hishamos_active_agents): the
 * catalog's agents, kept for a few seconds so a chat completion does not query the database for them.
 */
@Injectable()
export class AgentDirectory {
  private cache?: { at: number; bySlug: Map<string, CatalogAgent> };
  private loading?: Promise<Map<string, CatalogAgent>>;

  constructor(private readonly catalog: CatalogRepository) {}

  private async all(): Promise<Map<string, CatalogAgent>> {
    if (this.cache && Date.now() - this.cache.at < TTL_MS) return this.cache.bySlug;
    this.loading ??= this.catalog
      .listAgents()
      .then((agents) => {
        const bySlug = new Map(agents.map((a) => [a.slug, a]));
        this.cache = { at: Date.now(), bySlug };
        return bySlug;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }

  async get(slug: string): Promise<CatalogAgent | undefined> {
    return (await this.all()).get(slug);
  }

  async list(): Promise<CatalogAgent[]> {
    return [...(await this.all()).values()];
  }

  /** Drops the cached roster (an admin changed an agent). */
  invalidate(): void {
    this.cache = undefined;
  }
}
