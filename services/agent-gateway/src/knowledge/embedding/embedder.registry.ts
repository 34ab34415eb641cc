import { Injectable } from '@nestjs/common';
import { KNOWLEDGE_DIMENSIONS, type Embedder } from './embedder';
import { HashingEmbedder } from './hashing.embedder';

/**
 * Embedders by id. `hashing` is always there; the gateway's provider registry registers
 * provider-backed ones (e.g. OpenAI embeddings) with register(). Every embedder must produce
 * KNOWLEDGE_DIMENSIONS-long vectors (the column is vector(1536)).
 */
@Injectable()
export class EmbedderRegistry {
  private readonly embedders = new Map<string, Embedder>();

  constructor() {
    this.register(new HashingEmbedder());
  }

  /** Adds or replaces an embedder (replacing lets a provider's embedder pick up new credentials). */
  register(embedder: Embedder): void {
    if (embedder.dimensions !== KNOWLEDGE_DIMENSIONS) {
      throw new Error(
        `embedder ${embedder.id} produces ${embedder.dimensions} dimensions; the knowledge base stores ${KNOWLEDGE_DIMENSIONS}`,
      );
    }
    this.embedders.set(embedder.id, embedder);
  }

  has(id: string): boolean {
    return this.embedders.has(id);
  }

  get(id: string): Embedder {
    const embedder = this.embedders.get(id);
    if (!embedder) {
      throw new Error(`no embedder "${id}" is registered (registered: ${this.ids().join(', ')})`);
    }
    return embedder;
  }

  ids(): string[] {
    return [...this.embedders.keys()].sort();
  }
}
