/** The knowledge base's vector size (the seed's `vector(1536)`, OpenAI text-embedding-3-small's size). */
export const KNOWLEDGE_DIMENSIONS = 1536;

/**
 * Turns text into vectors of KNOWLEDGE_DIMENSIONS numbers for cosine search. Implementations are
 * registered by id in the EmbedderRegistry (`hashing` locally; the provider registry adds
 * provider-backed ones such as OpenAI embeddings).
 */
export interface Embedder {
  /** Registry id, recorded on every chunk (vectors of different embedders are never compared). */
  readonly id: string;
  readonly dimensions: number;
  /** True when no model is involved (local feature hashing): labelled in the chunks' metadata. */
  readonly offline: boolean;
  /** The model behind it, when there is one (recorded in metadata). */
  readonly model?: string;
  /** One vector per text, in order. `purpose` lets providers that embed queries differently do so. */
  embed(texts: readonly string[], purpose: 'document' | 'query'): Promise<number[][]>;
}

/** Injection token of the configured embedder (KNOWLEDGE_EMBEDDER), resolved in the registry on each call. */
export const EMBEDDER = Symbol('EMBEDDER');

/** Thrown when a text has nothing an embedder can represent (no letters or digits). */
export class EmptyEmbeddingInputError extends Error {
  constructor(readonly index: number) {
    super(`text ${index} has no words to embed`);
    this.name = 'EmptyEmbeddingInputError';
  }
}
