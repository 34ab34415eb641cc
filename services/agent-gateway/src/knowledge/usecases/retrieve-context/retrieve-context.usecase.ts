import { Injectable } from '@nestjs/common';
import { IsInt, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { toValidCommand } from '../../../catalog/assert-valid';
import type { KnowledgeHit } from '../../knowledge.types';
import { SearchKnowledgeUseCase } from '../search-knowledge/search-knowledge.usecase';

export class RetrieveContextCommand {
  /** What the task is about: the rendered prompt or the command's inputs. */
  @IsString()
  @MaxLength(4000)
  query!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  topK?: number;

  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;

  /** Hits below this cosine similarity are left out (default 0.05: unrelated text scores near 0). */
  @IsOptional()
  @IsNumber()
  @Min(-1)
  @Max(1)
  minScore?: number;

  /** Upper bound on the characters of the context block (whole passages only). */
  @IsOptional()
  @IsInt()
  @Min(200)
  @Max(100_000)
  maxChars?: number;
}

export interface ContextSource {
  /** The passage's number in the block: cite as [n]. */
  n: number;
  documentId: string;
  chunkId: string;
  chunkIndex: number;
  title: string;
  source: string | null;
  headings: string[];
  score: number;
}

export interface RetrievedContext {
  /** The block to add to the prompt; '' when nothing relevant was found. */
  context: string;
  sources: ContextSource[];
  /** Whether the vectors came from the offline hashing embedder (vocabulary match, not meaning). */
  offline: boolean;
}

function describe(hit: KnowledgeHit): string {
  const where = [hit.title, ...hit.headings].join(' › ');
  const from = hit.source ? `source: ${hit.source}, ` : '';
  return `${where} (${from}chunk ${hit.chunkIndex + 1}, similarity ${hit.score.toFixed(2)})`;
}

/**
 * Retrieval-augmented execution: the top-k knowledge chunks for a task, formatted with their
 * sources as a block the execution use case adds to the prompt, and the sources themselves (to
 * record with the execution).
 */
@Injectable()
export class RetrieveContextUseCase {
  constructor(private readonly search: SearchKnowledgeUseCase) {}

  async execute(input: RetrieveContextCommand): Promise<RetrievedContext> {
    const command = toValidCommand(RetrieveContextCommand, input);
    const result = await this.search.execute({
      query: command.query,
      topK: command.topK ?? 4,
      filter: command.filter,
      minScore: command.minScore ?? 0.05,
    });
    const maxChars = command.maxChars ?? 8000;
    const header =
      'Knowledge base passages that may be relevant. Use them where they apply, cite them as [n], ' +
      'and say so when they do not answer the question:';
    const blocks: string[] = [];
    const sources: ContextSource[] = [];
    let length = header.length;
    for (const hit of result.data) {
      const n = sources.length + 1;
      const block = `[${n}] ${describe(hit)}\n${hit.content}`;
      if (length + 2 + block.length > maxChars) break;
      blocks.push(block);
      length += 2 + block.length;
      sources.push({
        n,
        documentId: hit.documentId,
        chunkId: hit.chunkId,
        chunkIndex: hit.chunkIndex,
        title: hit.title,
        source: hit.source,
        headings: hit.headings,
        score: hit.score,
      });
    }
    return {
      context: blocks.length > 0 ? [header, ...blocks].join('\n\n') : '',
      sources,
      offline: result.embedder.offline,
    };
  }
}
