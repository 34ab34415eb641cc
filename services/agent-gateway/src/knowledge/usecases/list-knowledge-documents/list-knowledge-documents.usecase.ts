import { Injectable } from '@nestjs/common';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { toValidCommand } from '../../../catalog/assert-valid';
import { decodeCursor, KnowledgeRepository, type DocumentPage } from '../../knowledge.repository';

export class ListKnowledgeDocumentsQuery {
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** nextCursor of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/** The knowledge base's documents, newest first, a page at a time (keyset pagination). */
@Injectable()
export class ListKnowledgeDocumentsUseCase {
  constructor(private readonly knowledge: KnowledgeRepository) {}

  async execute(input: ListKnowledgeDocumentsQuery): Promise<DocumentPage> {
    const query = toValidCommand(ListKnowledgeDocumentsQuery, input);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !after)
      throw ApiError.badRequest('cursor', 'is not a cursor this API returned (use nextCursor)');
    return this.knowledge.listDocuments(query.limit ?? 20, after);
  }
}
