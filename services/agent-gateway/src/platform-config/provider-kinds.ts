/**
 * The provider kinds the Platform Configuration API accepts, with their default base URLs (as the
 * vendors' SDKs use them) and whether they need an API key.
 */
export interface ProviderKind {
  defaultBaseUrl?: string;
  /** A base URL must be given (self-hosted OpenAI-compatible servers). */
  requiresBaseUrl: boolean;
  /** No network at all (the offline provider). */
  offline: boolean;
}

export const PROVIDER_KINDS: Record<string, ProviderKind> = {
  openai: { defaultBaseUrl: 'https://api.openai.com/v1', requiresBaseUrl: false, offline: false },
  anthropic: { defaultBaseUrl: 'https://api.anthropic.com', requiresBaseUrl: false, offline: false },
  gemini: {
    defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
    requiresBaseUrl: false,
    offline: false,
  },
  openrouter: { defaultBaseUrl: 'https://openrouter.ai/api/v1', requiresBaseUrl: false, offline: false },
  'openai-compatible': { requiresBaseUrl: true, offline: false },
  offline: { requiresBaseUrl: false, offline: true },
};

export const PROVIDER_KIND_IDS = Object.keys(PROVIDER_KINDS);
export const PROVIDER_ID = /^[a-z][a-z0-9-]{0,39}$/;
/** Ids the API's own routes use. */
export const RESERVED_PROVIDER_IDS = new Set(['allowed-hosts']);

/** Where the platform's API key for a provider lives in the secrets service. */
export function providerKeyPath(id: string): string {
  return `ai/platforms/${id}`;
}

export function effectiveBaseUrl(kind: string, baseUrl: string | null | undefined): string | undefined {
  return (baseUrl ?? PROVIDER_KINDS[kind]?.defaultBaseUrl)?.replace(/\/+$/, '');
}
