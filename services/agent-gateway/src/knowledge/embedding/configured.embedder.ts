import { Inject, Injectable } from '@nestjs/common';
import type { KnowledgeSettings } from '../../config/knowledge.settings';
import { KNOWLEDGE_SETTINGS } from '../knowledge.tokens';
import type { Embedder } from './embedder';
import { EmbedderRegistry } from './embedder.registry';

/**
 * The EMBEDDER: whichever embedder KNOWLEDGE_EMBEDDER names, looked up in the registry on every
 * call, so one registered after boot (the provider registry's) is picked up without a restart.
 */
@Injectable()
export class ConfiguredEmbedder implements Embedder {
  constructor(
    private readonly registry: EmbedderRegistry,
    @Inject(KNOWLEDGE_SETTINGS) private readonly settings: KnowledgeSettings,
  ) {}

  private get current(): Embedder {
    return this.registry.get(this.settings.KNOWLEDGE_EMBEDDER);
  }

  get id(): string {
    return this.current.id;
  }
  get dimensions(): number {
    return this.current.dimensions;
  }
  get offline(): boolean {
    return this.current.offline;
  }
  get model(): string | undefined {
    return this.current.model;
  }

  /** Whether the configured embedder is registered (for readiness). */
  available(): boolean {
    return this.registry.has(this.settings.KNOWLEDGE_EMBEDDER);
  }

  embed(texts: readonly string[], purpose: 'document' | 'query'): Promise<number[][]> {
    return this.current.embed(texts, purpose);
  }
}
