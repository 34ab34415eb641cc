export { KnowledgeModule } from './knowledge.module';
export { KnowledgeRepository, type DocumentPage, type KnowledgeSearch } from './knowledge.repository';
export { KnowledgeDatabase, openKnowledgeDatabase, KNOWLEDGE_SCHEMA } from './knowledge-database';
export { KNOWLEDGE_SETTINGS } from './knowledge.tokens';
export type { KnowledgeDocument, KnowledgeHit } from './knowledge.types';
export { EMBEDDER, KNOWLEDGE_DIMENSIONS, EmptyEmbeddingInputError, type Embedder } from './embedding/embedder';
export { EmbedderRegistry } from './embedding/embedder.registry';
export { HashingEmbedder } from './embedding/hashing.embedder';
export { chunkText, type TextChunk, type KnowledgeContentType } from './chunking/text-chunker';
export {
  SearchKnowledgeUseCase,
  SearchKnowledgeCommand,
  type SearchKnowledgeResult,
} from './usecases/search-knowledge/search-knowledge.usecase';
export {
  RetrieveContextUseCase,
  RetrieveContextCommand,
  type RetrievedContext,
  type ContextSource,
} from './usecases/retrieve-context/retrieve-context.usecase';
export {
  AddKnowledgeDocumentUseCase,
  AddKnowledgeDocumentCommand,
} from './usecases/add-knowledge-document/add-knowledge-document.usecase';
export { KnowledgeSettings, knowledgeSettingsFrom } from '../config/knowledge.settings';
