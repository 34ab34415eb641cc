import { KNOWLEDGE_DIMENSIONS, type Embedder } from '../knowledge/embedding/embedder';
import type { ProviderRouter } from './provider-router';

/** The embedding model a provider kind uses for the knowledge base unless its options name one (`embeddingModel`). */
export const DEFAULT_EMBEDDING_MODELS: Readonly<Record<string, string>> = {
  openai: 'text-embedding-3-small',
  gemini: 'gemini-embedding-001',
};

/**
 * The knowledge base's embedder backed by a configured provider (registered in the EmbedderRegistry
 * under the provider's id, e.g. KNOWLEDGE_EMBEDDER=openai). The provider is resolved on each call,
 * so a rotated key or a changed config is used at once.
 */
export class ProviderEmbedder implements Embedder {
  readonly dimensions = KNOWLEDGE_DIMENSIONS;
  readonly offline = false;

  constructor(
    readonly id: string,
    readonly model: string,
    private readonly router: ProviderRouter,
  ) {}

  async embed(texts: readonly string[]): Promise<number[][]> {
    const provider = await this.router.provider(this.id);
    if (!provider?.embed) throw new Error(`provider ${this.id} offers no embeddings`);
    const result = await provider.embed({ model: this.model, input: [...texts], dimensions: this.dimensions });
    for (const v of result.embeddings)
      if (v.length !== this.dimensions)
        throw new Error(
          `${this.id}/${this.model} returned ${v.length} dimensions; the knowledge base stores ${this.dimensions}`,
        );
    return result.embeddings;
  }
}
