import type { KnowledgeContentType } from './chunking/text-chunker';

export interface KnowledgeDocument {
  id: string;
  title: string;
  source: string | null;
  contentType: KnowledgeContentType;
  metadata: Record<string, unknown>;
  contentHash: string;
  chars: number;
  chunkCount: number;
  embedder: string;
  createdBy: string | null;
  createdAt: string;
}

/** One chunk found by a search, best first. */
export interface KnowledgeHit {
  chunkId: string;
  documentId: string;
  chunkIndex: number;
  title: string;
  source: string | null;
  headings: string[];
  content: string;
  /** Cosine similarity, 1 = same direction. */
  score: number;
  metadata: Record<string, unknown>;
}

/** Metadata keys the knowledge base writes on every chunk; documents may not use them. */
export const RESERVED_METADATA_KEYS = [
  'document_id',
  'title',
  'source',
  'chunk_index',
  'headings',
  'embedder',
  'embedding_model',
  'embedding_offline',
] as const;
