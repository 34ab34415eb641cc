import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import type { KnowledgeSettings } from '../../../config/knowledge.settings';
import { toValidCommand } from '../../../catalog/assert-valid';
import { chunkText, type KnowledgeContentType } from '../../chunking/text-chunker';
import { EMBEDDER, type Embedder } from '../../embedding/embedder';
import { jsonObjectProblem, METADATA_LIMITS } from '../../knowledge-json';
import { KnowledgeRepository, type NewKnowledgeChunk } from '../../knowledge.repository';
import { KNOWLEDGE_SETTINGS } from '../../knowledge.tokens';
import { RESERVED_METADATA_KEYS, type KnowledgeDocument } from '../../knowledge.types';

/** Texts per embed() call (providers cap batch sizes). */
const EMBED_BATCH = 64;

export class AddKnowledgeDocumentCommand {
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  title!: string;

  /** The document's text (plain text or Markdown). */
  @IsString()
  content!: string;

  @IsOptional()
  @IsIn(['text/plain', 'text/markdown'])
  contentType?: KnowledgeContentType;

  /** Where it comes from (URL, path, ticket): cited next to its chunks. */
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  source?: string;

  /** Copied onto every chunk; search filters match it (`{"team": "payments"}`). */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  createdBy?: string;
}

/**
 * Adds a document to the knowledge base: chunks it (headings and paragraphs, with overlap), embeds
 * every chunk with the configured embedder, and stores the document and its chunks in one
 * transaction. 400 for empty text or bad metadata, 413 for a document over
 * KNOWLEDGE_MAX_DOCUMENT_CHARS, 409 when the same document (title, source, text) is already there.
 */
@Injectable()
export class AddKnowledgeDocumentUseCase {
  constructor(
    private readonly knowledge: KnowledgeRepository,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(KNOWLEDGE_SETTINGS) private readonly settings: KnowledgeSettings,
  ) {}

  async execute(input: AddKnowledgeDocumentCommand): Promise<KnowledgeDocument> {
    const command = toValidCommand(AddKnowledgeDocumentCommand, input);
    const contentType = command.contentType ?? 'text/markdown';
    const title = command.title.trim();
    if (!title) throw ApiError.badRequest('title', 'must not be blank');
    if (command.content.trim().length === 0)
      throw ApiError.badRequest('content', 'must not be empty', 'empty_document');
    const max = this.settings.KNOWLEDGE_MAX_DOCUMENT_CHARS;
    if (command.content.length > max) {
      throw new ApiError(
        413,
        'document_too_large',
        `content: ${command.content.length} characters; the limit is ${max} (split the document)`,
        { field: 'content', reason: `longer than ${max} characters` },
      );
    }
    const metadata = command.metadata ?? {};
    const problem = jsonObjectProblem(metadata, 'metadata', METADATA_LIMITS, RESERVED_METADATA_KEYS);
    if (problem) throw ApiError.badRequest(problem.field, problem.reason, 'invalid_metadata');

    const source = command.source?.trim() || null;
    const contentHash = createHash('sha256').update(command.content).digest('hex');
    const duplicate = await this.knowledge.findDuplicate(title, source, contentHash);
    if (duplicate) {
      throw new ApiError(
        409,
        'duplicate_document',
        `this document is already in the knowledge base as ${duplicate.id}`,
        {
          reason: 'duplicate',
          details: { documentId: duplicate.id },
        },
      );
    }

    const chunks = chunkText(command.content, {
      contentType,
      chunkSize: this.settings.KNOWLEDGE_CHUNK_SIZE,
      overlap: this.settings.KNOWLEDGE_CHUNK_OVERLAP,
    });
    if (chunks.length === 0) throw ApiError.badRequest('content', 'has no words to index', 'empty_document');

    const embedder = this.embedder;
    const texts = chunks.map((c) => [title, ...c.headings, c.content].join('\n'));
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      vectors.push(...(await embedder.embed(texts.slice(i, i + EMBED_BATCH), 'document')));
    }
    if (vectors.length !== chunks.length || vectors.some((v) => v.length !== embedder.dimensions)) {
      throw new Error(`embedder ${embedder.id} returned ${vectors.length} vectors of the wrong size`);
    }

    const id = randomUUID();
    const newChunks: NewKnowledgeChunk[] = chunks.map((chunk, i) => ({
      index: chunk.index,
      content: chunk.content,
      embedding: vectors[i],
      metadata: {
        ...metadata,
        document_id: id,
        title,
        source,
        chunk_index: chunk.index,
        headings: chunk.headings,
        embedder: embedder.id,
        embedding_model: embedder.model ?? null,
        embedding_offline: embedder.offline,
      },
    }));
    return this.knowledge.insertDocument(
      {
        id,
        title,
        source,
        contentType,
        metadata,
        contentHash,
        chars: command.content.length,
        embedder: embedder.id,
        createdBy: command.createdBy ?? null,
      },
      newChunks,
    );
  }
}
