import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { toValidCommand } from '../../../catalog/assert-valid';
import { KnowledgeRepository } from '../../knowledge.repository';

export class DeleteKnowledgeDocumentCommand {
  @IsUUID()
  id!: string;
}

/** Removes a document and all its chunks (one transaction); 404 when there is no such document. */
@Injectable()
export class DeleteKnowledgeDocumentUseCase {
  constructor(private readonly knowledge: KnowledgeRepository) {}

  async execute(input: DeleteKnowledgeDocumentCommand): Promise<{ id: string; deleted: true; chunksDeleted: number }> {
    const { id } = toValidCommand(DeleteKnowledgeDocumentCommand, input);
    const result = await this.knowledge.deleteDocument(id);
    if (!result) throw ApiError.notFound('document', id);
    return { id, deleted: true, chunksDeleted: result.chunksDeleted };
  }
}
