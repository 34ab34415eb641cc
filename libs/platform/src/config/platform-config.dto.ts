import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  getMetadataStorage,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidateIf,
} from 'class-validator';

/**
 * The environment every service reads, validated at boot (the seed's .env.example plus the
 * platform's own). Nothing else in the code base reads process.env.
 */
export class PlatformConfig {
  @IsIn(['development', 'staging', 'production'])
  ENVIRONMENT = 'development';

  @IsIn(['debug', 'info', 'warn', 'error'])
  LOG_LEVEL = 'info';

  @IsIn(['embedded', 'distributed'])
  HISHAMOS_MODE: 'embedded' | 'distributed' = 'embedded';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  /** Interface the HTTP servers bind to; containers set 0.0.0.0. */
  @IsString()
  HOST = '127.0.0.1';

  @IsString()
  HISHAMOS_DATA_DIR = '.hishamos/data';

  @ValidateIf((c: PlatformConfig) => c.HISHAMOS_MODE === 'distributed')
  @IsString({ message: 'DATABASE_URL is required in distributed mode (postgres://user:password@host:5432/db)' })
  DATABASE_URL?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  DATABASE_POOL_SIZE = 20;

  @IsString()
  KAFKA_BROKERS = '127.0.0.1:19092';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  KAFKA_TOPIC_PARTITIONS = 6;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10)
  KAFKA_REPLICATION_FACTOR = 1;

  @IsOptional()
  @IsString()
  KAFKA_TOPIC_PREFIX?: string;

  /** How long a silent consumer keeps its partitions before the group rebalances (Kafka's minimum: 6000). */
  @Type(() => Number)
  @IsInt()
  @Min(6000)
  @Max(300000)
  KAFKA_SESSION_TIMEOUT_MS = 30000;

  @ValidateIf((c: PlatformConfig) => c.HISHAMOS_MODE === 'distributed')
  @IsString({ message: 'SERVICE_TOKEN is required in distributed mode (at least 32 characters)' })
  @MinLength(32, { message: 'SERVICE_TOKEN must be at least 32 characters' })
  SERVICE_TOKEN?: string;

  @IsOptional()
  @IsString()
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @IsOptional()
  @IsString()
  SECRETS_URL?: string;

  @IsOptional()
  @IsString()
  METERING_URL?: string;

  /** Where the gateway forwards /v1 routes owned by other services (distributed mode; embedded knows its own). */
  @IsOptional()
  @IsString()
  ORCHESTRATOR_URL?: string;

  @IsOptional()
  @IsString()
  ALERTING_URL?: string;

  @IsOptional()
  @IsString()
  FEEDBACK_URL?: string;

  @IsOptional()
  @IsString()
  GATEWAY_URL?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_CONCURRENT_WORKFLOWS = 100;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_CONCURRENT_TASKS_PER_AGENT = 5;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** The variable names a config class declares (every validated property). */
export function declaredVariables(cls: new () => object): string[] {
  const metas = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
  return [...new Set(metas.map((m) => m.propertyName))];
}

/** Builds and validates a config class from an environment; throws ConfigError naming each bad variable. */
export function loadConfig<T extends object>(
  cls: new () => T,
  env: Record<string, string | undefined> = process.env,
): T {
  // Only the declared variables are read: the rest of the environment never enters the config.
  const raw: Record<string, string> = {};
  for (const k of declaredVariables(cls)) {
    const v = env[k];
    if (v !== undefined && v !== '') raw[k] = v;
  }
  const instance = plainToInstance(cls, raw, { exposeDefaultValues: true });
  const errors = validateSync(instance, { forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigError(errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`));
  }
  return instance;
}

/** The process environment: the one place the code base reads it. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
