import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

export class SubmitTaskDto {
  @IsString()
  @MinLength(1)
  agent!: string;

  @IsString()
  @MinLength(1)
  command!: string;

  @IsOptional()
  @IsObject()
  inputs?: Record<string, unknown>;

  @IsOptional()
  @IsIn(['low', 'normal', 'high'])
  priority?: 'low' | 'normal' | 'high';

  /** Your own id for the task, echoed in its workflow events. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  taskId?: string;

  /** The same key from the same person creates one run (a retried request returns it). */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  idempotencyKey?: string;
}

export class StartRunDto {
  @IsOptional()
  @IsObject()
  inputs?: Record<string, unknown>;

  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;

  @IsOptional()
  @IsIn(['low', 'normal', 'high'])
  priority?: 'low' | 'normal' | 'high';

  @IsOptional()
  @IsString()
  @MaxLength(200)
  taskId?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  idempotencyKey?: string;
}

export class RegisterWorkflowDto {
  /** The definition (JSON) ... */
  @IsOptional()
  @IsObject()
  definition?: Record<string, unknown>;

  /** ... or its YAML text. */
  @IsOptional()
  @IsString()
  @MaxLength(512 * 1024)
  yaml?: string;
}

export class DecisionDto {
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

export class CancelDto {
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class ListRunsQuery {
  @IsOptional()
  @IsString()
  user?: string;

  @IsOptional()
  @IsIn(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
  status?: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

  @IsOptional()
  @IsString()
  workflow?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @IsOptional()
  @Matches(/^\d+$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

export class WorkflowVersionQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;
}

export class RunEventsQuery {
  @IsOptional()
  @Matches(/^\d+$/, { message: 'after must be an event sequence number' })
  after?: string;
}
