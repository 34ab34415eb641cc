import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { KnowledgeContentType } from '../chunking/text-chunker';

/** `POST /v1/knowledge/documents`. */
export class AddKnowledgeDocumentDto {
  @IsString()
  @MaxLength(300)
  title!: string;

  @IsString()
  content!: string;

  /** text/markdown (default) or text/plain. */
  @IsOptional()
  @IsIn(['text/plain', 'text/markdown'])
  contentType?: KnowledgeContentType;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  source?: string;

  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

/** `GET /v1/knowledge/documents?limit=20&cursor=...`. */
export class ListKnowledgeDocumentsDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/** `POST /v1/knowledge/search`. */
export class SearchKnowledgeDto {
  @IsString()
  @MaxLength(4000)
  query!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(50)
  topK?: number;

  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;

  @IsOptional()
  @IsNumber()
  @Min(-1)
  @Max(1)
  minScore?: number;
}
