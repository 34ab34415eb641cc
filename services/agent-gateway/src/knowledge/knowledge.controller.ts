import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { AddKnowledgeDocumentDto, ListKnowledgeDocumentsDto, SearchKnowledgeDto } from './dto/knowledge.dto';
import type { DocumentPage } from './knowledge.repository';
import type { KnowledgeDocument } from './knowledge.types';
import { AddKnowledgeDocumentUseCase } from './usecases/add-knowledge-document/add-knowledge-document.usecase';
import { DeleteKnowledgeDocumentUseCase } from './usecases/delete-knowledge-document/delete-knowledge-document.usecase';
import { ListKnowledgeDocumentsUseCase } from './usecases/list-knowledge-documents/list-knowledge-documents.usecase';
import {
  SearchKnowledgeUseCase,
  type SearchKnowledgeResult,
} from './usecases/search-knowledge/search-knowledge.usecase';

/** The knowledge base: admins and operators add and delete documents; anyone signed in lists and searches. */
@Controller('v1/knowledge')
export class KnowledgeController {
  constructor(
    private readonly addDocument: AddKnowledgeDocumentUseCase,
    private readonly listDocuments: ListKnowledgeDocumentsUseCase,
    private readonly deleteDocument: DeleteKnowledgeDocumentUseCase,
    private readonly searchKnowledge: SearchKnowledgeUseCase,
  ) {}

  @RequireRoles('admin', 'operator')
  @Post('documents')
  @HttpCode(201)
  add(@Body() body: AddKnowledgeDocumentDto, @CurrentIdentity() identity: Identity): Promise<KnowledgeDocument> {
    return this.addDocument.execute({ ...body, createdBy: identity.subject });
  }

  @Get('documents')
  list(@Query() query: ListKnowledgeDocumentsDto): Promise<DocumentPage> {
    return this.listDocuments.execute({ limit: query.limit, cursor: query.cursor });
  }

  @RequireRoles('admin', 'operator')
  @Delete('documents/:id')
  remove(@Param('id') id: string): Promise<{ id: string; deleted: true; chunksDeleted: number }> {
    return this.deleteDocument.execute({ id });
  }

  @Post('search')
  @HttpCode(200)
  search(@Body() body: SearchKnowledgeDto): Promise<SearchKnowledgeResult> {
    return this.searchKnowledge.execute(body);
  }
}
