import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { declaredVariables } from '@hishamos/platform';
import { IdentitySettings } from './identity.settings';
import { KnowledgeSettings } from './knowledge.settings';

const toBoolean = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value;

/**
 * The agent-gateway's environment: identity & access (IdentitySettings), the knowledge base (its
 * KNOWLEDGE_* variables are declared here and validated by KnowledgeSettings), and execution:
 * providers, timeouts, retries, circuit breakers, fallback, budgets and workers.
 */
export class AgentGatewaySettings extends IdentitySettings {
  // --- Providers whose keys come from the environment (the seed's .env). Keys configured through the
  // Platform Configuration API (stored in the secrets service) take precedence for the same provider id.
  @IsOptional()
  @IsString()
  OPENAI_API_KEY?: string;

  @IsOptional()
  @IsString()
  OPENAI_BASE_URL?: string;

  /** The seed's name for the Anthropic key. */
  @IsOptional()
  @IsString()
  CLAUDE_API_KEY?: string;

  @IsOptional()
  @IsString()
  ANTHROPIC_BASE_URL?: string;

  @IsOptional()
  @IsString()
  GEMINI_API_KEY?: string;

  @IsOptional()
  @IsString()
  GEMINI_BASE_URL?: string;

  @IsOptional()
  @IsString()
  OPENROUTER_API_KEY?: string;

  @IsOptional()
  @IsString()
  OPENROUTER_BASE_URL?: string;

  /** The offline provider (deterministic answers, no model): the embedded default when no key is configured. */
  @Transform(toBoolean)
  @IsBoolean()
  OFFLINE_PROVIDER_ENABLED: boolean = true;

  /**
   * The provider used when an agent's default provider is not configured (and for bare model names no
   * provider lists). Empty: the first configured provider by priority, else `offline`.
   */
  @IsOptional()
  @Matches(/^[a-z][a-z0-9-]{0,49}$/, { message: 'DEFAULT_PROVIDER must be a provider id' })
  DEFAULT_PROVIDER?: string;

  /**
   * Providers tried, in order, when the chosen one fails with a retryable error or an open circuit:
   * comma-separated `provider` or `provider:model` (model defaults to the provider's default model).
   * Applies to agent commands and `agent/<slug>` models, not to an exact model a client asked for.
   */
  @IsOptional()
  @Matches(/^[a-z0-9:./_-]+(,[a-z0-9:./_-]+)*$/i, {
    message: 'PROVIDER_FALLBACK must be a comma-separated list of provider or provider:model',
  })
  PROVIDER_FALLBACK?: string;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  PROVIDER_ATTEMPT_TIMEOUT_MS = 60_000;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  PROVIDER_TOTAL_TIMEOUT_MS = 120_000;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  PROVIDER_STREAM_IDLE_TIMEOUT_MS = 60_000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  PROVIDER_MAX_RETRIES = 2;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(60_000)
  PROVIDER_RETRY_BASE_MS = 250;

  /** A Retry-After longer than this fails the attempt (or falls back) instead of waiting. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  PROVIDER_MAX_RETRY_AFTER_MS = 30_000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  CIRCUIT_FAILURE_THRESHOLD = 5;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  CIRCUIT_OPEN_MS = 30_000;

  /**
   * Whether /v1/chat/completions waits for the usage record (execution row + UsageRecorded, one
   * transaction) to commit before answering (streams: before the final `[DONE]`). Off (default): the answer goes out first and the
   * record commits a few milliseconds later, keeping a database commit off every call's latency; a
   * gateway crash in that window loses that one record (the call is not charged, its reservation
   * expires). On: never, at the cost of the commit on each call. Agent commands and embeddings always
   * record first.
   */
  @Transform(toBoolean)
  @IsBoolean()
  USAGE_RECORD_BEFORE_RESPONSE: boolean = false;

  /** max_tokens reserved and sent when a caller gives none. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  DEFAULT_MAX_OUTPUT_TOKENS = 4096;

  /**
   * Where budgets are reserved: `metering` (usage-metering's internal API; fails closed for users with
   * a hard limit when it cannot answer) or `none` (no reservation; usage is still recorded).
   */
  @IsIn(['metering', 'none'])
  BUDGET_BACKEND: 'metering' | 'none' = 'metering';

  @Type(() => Number)
  @IsInt()
  @Min(50)
  BUDGET_TIMEOUT_MS = 3000;

  /**
   * How old the gateway's last view of a user's budgets may be for it to let a request through
   * unmetered while usage-metering cannot answer (only when that view shows no hard limit).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  BUDGET_FAIL_OPEN_MAX_AGE_SECONDS = 600;

  /**
   * Budget leases (BUDGET_BACKEND=metering): the gateway takes a slice of each active user's budget
   * from usage-metering (granted atomically against every hard limit that applies) and grants that
   * user's calls from it itself, with no round trip per call; each call's usage still settles at
   * metering. Near a limit metering refuses leases and calls are reserved one by one. false: every
   * call is reserved at metering.
   */
  @Transform(toBoolean)
  @IsBoolean()
  BUDGET_LEASES: boolean = true;

  /** How many calls like the one that asks for it a lease should cover (metering may grant less). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  BUDGET_LEASE_CALLS = 50;

  /** How long calls are granted from one lease before a fresh one is taken and this one given back. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  BUDGET_LEASE_SECONDS = 30;

  /** Executions from events and `?async=true` run on this many workers per gateway replica. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  EXECUTION_WORKERS = 16;

  /** A running execution whose worker vanished (crash) is taken over after this long. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  EXECUTION_LEASE_SECONDS = 300;

  /** How long the provider model lists behind /v1/models are cached. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MODEL_LIST_CACHE_SECONDS = 300;
}

// The knowledge base's variables are part of the gateway's environment: declared here (read by
// loadConfig as given) and validated with their types by knowledgeSettingsFrom (KnowledgeSettings).
for (const name of declaredVariables(KnowledgeSettings)) {
  IsOptional()(AgentGatewaySettings.prototype, name);
}
