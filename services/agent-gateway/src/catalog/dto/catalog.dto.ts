import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  Min,
} from 'class-validator';
import type { InputSchema, OutputSchema } from '@hishamos/catalog';
import { LABEL_PATTERN } from '../template-labels';

const LABEL_MESSAGE = 'must match ^[a-z][a-z0-9_-]{0,39}$';

/** `GET /v1/agents/:slug/commands/:command?version=3` or `?label=canary` (default: production). */
export class CommandVersionQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;

  @IsOptional()
  @IsString()
  @Matches(LABEL_PATTERN, { message: `label ${LABEL_MESSAGE}` })
  label?: string;
}

/** `POST /v1/agents/:slug/commands/:command/versions` (admin). */
export class CreateTemplateVersionDto {
  @IsString()
  template!: string;

  /** Defaults to the `latest` version's input schema. */
  @IsOptional()
  @IsObject()
  inputSchema?: InputSchema;

  /** Defaults to the `latest` version's output schema. */
  @IsOptional()
  @IsObject()
  outputSchema?: OutputSchema;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;

  /** Labels for the new version, e.g. ["production"] to promote it at once. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @Matches(LABEL_PATTERN, { each: true, message: `each label ${LABEL_MESSAGE}` })
  labels?: string[];
}

/** `PUT /v1/agents/:slug/commands/:command/labels/:label` (admin). */
export class SetTemplateLabelDto {
  @IsInt()
  @Min(1)
  version!: number;
}

/** `POST /internal/v1/templates/:agent/:command/drafts` (feedback-ml). */
export class CreateTemplateDraftDto {
  @IsString()
  template!: string;

  @IsOptional()
  @IsObject()
  inputSchema?: InputSchema;

  @IsOptional()
  @IsObject()
  outputSchema?: OutputSchema;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;

  /** feedback-ml's suggestion id, recorded in the version's note. */
  @IsOptional()
  @IsUUID()
  suggestionId?: string;
}
