import type { Identity } from '@hishamos/platform';
import type { SqlExecutor } from '@hishamos/persistence';

/**
 * Seams between the gateway's parts: identity & access (src/identity, src/platform-config) provide
 * them; execution and the OpenAI-compatible API (src/execution, src/openai) use them.
 */

/** "Can this person use the legal agent?" (per-user agent toggles; admins may use every agent). */
export const AGENT_ACCESS = Symbol('AGENT_ACCESS');
export interface AgentAccessPort {
  canUseAgent(identity: Identity, agentSlug: string): Promise<boolean>;
}

/** One row per change to users, roles, keys, permissions and provider configs (who, what, when, from where). */
export const AUDIT_LOG = Symbol('AUDIT_LOG');
export interface AuditEntry {
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  outcome: 'success' | 'denied' | 'failure';
  ipAddress?: string;
  userAgent?: string;
  details?: Record<string, unknown>;
}
export interface AuditLogPort {
  /** Writes in the caller's transaction when given (and publishes AuditRecorded through the outbox). */
  record(entry: AuditEntry, tx?: SqlExecutor): Promise<void>;
}

/** Providers configured through the Platform Configuration API; the provider registry builds adapters from them. */
export const PROVIDER_CONFIGS = Symbol('PROVIDER_CONFIGS');
export interface ProviderConfigRecord {
  /** Registry id, e.g. `openai`, `anthropic`, `gemini`, `openrouter`, `my-vllm`. */
  id: string;
  /** Adapter kind: openai | anthropic | gemini | openrouter | openai-compatible | offline. */
  kind: string;
  name: string;
  baseUrl?: string;
  defaultModel?: string;
  enabled: boolean;
  /** Secret path of the API key in the secrets service (ai/platforms/<id>); the value is never stored here. */
  apiKeyPath?: string;
  /** Fallback order (lower first) and per-provider tuning. */
  priority: number;
  options: Record<string, unknown>;
  updatedAt: string;
}
export interface ProviderConfigPort {
  list(): Promise<ProviderConfigRecord[]>;
  get(id: string): Promise<ProviderConfigRecord | undefined>;
  /** Called with the provider id whenever a config changes, so caches and adapters are rebuilt. */
  onChange(listener: (id: string) => void): void;
}

/** Secret values (provider keys) from the secrets service, cached in memory and dropped on SecretRotated. */
export const SECRET_STORE = Symbol('SECRET_STORE');
export interface SecretStorePort {
  get(path: string): Promise<string | undefined>;
  put(path: string, value: string, metadata?: Record<string, string>): Promise<{ version: number }>;
  invalidate(path: string): void;
}
