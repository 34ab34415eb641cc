import { Module } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { knowledgeSettingsFrom } from '../config/knowledge.settings';
import { ConfiguredEmbedder } from './embedding/configured.embedder';
import { EMBEDDER } from './embedding/embedder';
import { EmbedderRegistry } from './embedding/embedder.registry';
import { KnowledgeController } from './knowledge.controller';
import { KnowledgeDatabase } from './knowledge-database';
import { KnowledgeRepository } from './knowledge.repository';
import { KNOWLEDGE_SETTINGS } from './knowledge.tokens';
import { AddKnowledgeDocumentUseCase } from './usecases/add-knowledge-document/add-knowledge-document.usecase';
import { DeleteKnowledgeDocumentUseCase } from './usecases/delete-knowledge-document/delete-knowledge-document.usecase';
import { ListKnowledgeDocumentsUseCase } from './usecases/list-knowledge-documents/list-knowledge-documents.usecase';
import { RetrieveContextUseCase } from './usecases/retrieve-context/retrieve-context.usecase';
import { SearchKnowledgeUseCase } from './usecases/search-knowledge/search-knowledge.usecase';

/**
 * The knowledge base: its own database (see KnowledgeDatabase), chunking, the embedder registry
 * (`hashing` built in; register more with EmbedderRegistry.register), search and
 * retrieval-augmented context, and the HTTP API. Settings come from the gateway's settings
 * (KNOWLEDGE_* variables, see config/knowledge.settings.ts).
 */
@Module({
  controllers: [KnowledgeController],
  providers: [
    {
      provide: KNOWLEDGE_SETTINGS,
      inject: [SERVICE_CONTEXT],
      useFactory: (ctx: ServiceContext) => knowledgeSettingsFrom(ctx.settings),
    },
    KnowledgeDatabase,
    KnowledgeRepository,
    EmbedderRegistry,
    ConfiguredEmbedder,
    { provide: EMBEDDER, useExisting: ConfiguredEmbedder },
    AddKnowledgeDocumentUseCase,
    ListKnowledgeDocumentsUseCase,
    DeleteKnowledgeDocumentUseCase,
    SearchKnowledgeUseCase,
    RetrieveContextUseCase,
  ],
  exports: [
    KNOWLEDGE_SETTINGS,
    KnowledgeDatabase,
    KnowledgeRepository,
    EmbedderRegistry,
    EMBEDDER,
    SearchKnowledgeUseCase,
    RetrieveContextUseCase,
    AddKnowledgeDocumentUseCase,
  ],
})
export class KnowledgeModule {}
