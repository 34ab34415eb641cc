import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  validateSync,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { ConfigError, declaredVariables } from '@hishamos/platform';

@ValidatorConstraint({ name: 'overlapSmallerThanChunk' })
class OverlapSmallerThanChunk implements ValidatorConstraintInterface {
  validate(overlap: unknown, args: ValidationArguments): boolean {
    const size = (args.object as KnowledgeSettings).KNOWLEDGE_CHUNK_SIZE;
    return typeof overlap === 'number' && typeof size === 'number' && overlap * 2 <= size;
  }
  defaultMessage(): string {
    return 'KNOWLEDGE_CHUNK_OVERLAP must be at most half of KNOWLEDGE_CHUNK_SIZE';
  }
}

/**
 * The knowledge base's environment (part of the gateway's settings). Where its database lives:
 * embedded mode uses the gateway's own PGlite (opened with pgvector); distributed mode uses
 * KNOWLEDGE_DATABASE_URL (Postgres with pgvector) when set, else a PGlite data directory,
 * KNOWLEDGE_DATA_DIR (default <HISHAMOS_DATA_DIR>/knowledge; one per replica, so set the URL when
 * the gateway runs more than one).
 */
export class KnowledgeSettings {
  @IsOptional()
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'KNOWLEDGE_DATABASE_URL must be a postgres:// URL' })
  KNOWLEDGE_DATABASE_URL?: string;

  /** Default: <HISHAMOS_DATA_DIR>/knowledge (resolved when the database is opened). */
  @IsOptional()
  @IsString()
  KNOWLEDGE_DATA_DIR?: string;

  /** Target chunk length in characters (chunks break at headings and paragraphs). */
  @Type(() => Number)
  @IsInt()
  @Min(200)
  @Max(8000)
  KNOWLEDGE_CHUNK_SIZE = 1200;

  /** Characters of the previous chunk repeated at the start of the next (whole paragraphs or sentences when they fit). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(4000)
  @Validate(OverlapSmallerThanChunk)
  KNOWLEDGE_CHUNK_OVERLAP = 200;

  /** Embedder registry id: `hashing` (offline, deterministic) or one the provider registry adds (e.g. `openai`). */
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,39}$/, { message: 'KNOWLEDGE_EMBEDDER must be an embedder id such as hashing' })
  KNOWLEDGE_EMBEDDER = 'hashing';

  /** Candidates the HNSW index visits per search (recall against latency; see bench/knowledge). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(1000)
  KNOWLEDGE_HNSW_EF_SEARCH = 100;

  /** Largest document accepted, in characters (the HTTP body limit is 1 MiB). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(1_000_000)
  KNOWLEDGE_MAX_DOCUMENT_CHARS = 500_000;
}

/**
 * The knowledge settings inside whatever the gateway's settings object is (a KnowledgeSettings, a
 * class that declares these variables too, or nothing yet): its KNOWLEDGE_* values, validated, with
 * defaults for the rest. Throws ConfigError naming each bad variable.
 */
export function knowledgeSettingsFrom(settings: unknown): KnowledgeSettings {
  if (settings instanceof KnowledgeSettings) return settings;
  const raw: Record<string, unknown> = {};
  if (settings && typeof settings === 'object') {
    for (const name of declaredVariables(KnowledgeSettings)) {
      const value = (settings as Record<string, unknown>)[name];
      if (value !== undefined && value !== '') raw[name] = value;
    }
  }
  const instance = plainToInstance(KnowledgeSettings, raw, { exposeDefaultValues: true });
  const errors = validateSync(instance, { forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigError(errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`));
  }
  return instance;
}
