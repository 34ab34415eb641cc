import { Inject, Injectable } from '@nestjs/common';
import { IsInt, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import type { KnowledgeSettings } from '../../../config/knowledge.settings';
import { toValidCommand } from '../../../catalog/assert-valid';
import { EMBEDDER, EmptyEmbeddingInputError, type Embedder } from '../../embedding/embedder';
import { FILTER_LIMITS, jsonObjectProblem } from '../../knowledge-json';
import { KnowledgeRepository } from '../../knowledge.repository';
import { KNOWLEDGE_SETTINGS } from '../../knowledge.tokens';
import type { KnowledgeHit } from '../../knowledge.types';

export const MAX_TOP_K = 50;

export class SearchKnowledgeCommand {
  @IsString()
  @MaxLength(4000)
  query!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOP_K)
  topK?: number;

  /** Chunks whose metadata contains this object (jsonb @>), e.g. {"team": "payments"}. */
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;

  /** Drop hits below this cosine similarity. */
  @IsOptional()
  @IsNumber()
  @Min(-1)
  @Max(1)
  minScore?: number;
}

export interface SearchKnowledgeResult {
  data: KnowledgeHit[];
  embedder: { id: string; offline: boolean };
}

/**
 * The chunks most similar to a query (cosine, HNSW index), best first, among those whose metadata
 * contains the filter. 400 for an empty query, a query with no words, or a filter that is not a
 * small JSON object.
 */
@Injectable()
export class SearchKnowledgeUseCase {
  constructor(
    private readonly knowledge: KnowledgeRepository,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(KNOWLEDGE_SETTINGS) private readonly settings: KnowledgeSettings,
  ) {}

  async execute(input: SearchKnowledgeCommand): Promise<SearchKnowledgeResult> {
    const command = toValidCommand(SearchKnowledgeCommand, input);
    if (command.query.trim().length === 0) throw ApiError.badRequest('query', 'must not be empty');
    if (command.filter !== undefined) {
      const problem = jsonObjectProblem(command.filter, 'filter', FILTER_LIMITS);
      if (problem) throw ApiError.badRequest(problem.field, problem.reason, 'invalid_filter');
    }
    const embedder = this.embedder;
    let vector: number[];
    try {
      [vector] = await embedder.embed([command.query], 'query');
    } catch (error: unknown) {
      if (error instanceof EmptyEmbeddingInputError) throw ApiError.badRequest('query', 'has no words to search for');
      throw error;
    }
    const hits = await this.knowledge.search({
      embedding: vector,
      embedder: embedder.id,
      topK: command.topK ?? 5,
      filter: command.filter,
      efSearch: this.settings.KNOWLEDGE_HNSW_EF_SEARCH,
    });
    const minScore = command.minScore;
    return {
      data: minScore === undefined ? hits : hits.filter((h) => h.score >= minScore),
      embedder: { id: embedder.id, offline: embedder.offline },
    };
  }
}
