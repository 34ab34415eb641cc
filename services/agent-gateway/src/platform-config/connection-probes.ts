/** How "Test Connection" lists a provider's models, per kind (a registry: no vendor switch in the use case). */
export interface ConnectionProbe {
  /** The model-list request for this kind. */
  request(baseUrl: string, apiKey: string | undefined): { url: string; headers: Record<string, string> };
  /** Model ids from a successful response body. */
  models(body: unknown): string[];
}

const openAiStyle: ConnectionProbe = {
  request: (baseUrl, apiKey) => ({
    url: `${baseUrl}/models`,
    headers: { accept: 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
  }),
  models: (body) =>
    ((body as { data?: { id?: unknown }[] })?.data ?? []).map((m) => String(m.id ?? '')).filter(Boolean),
};

export const CONNECTION_PROBES: Record<string, ConnectionProbe> = {
  openai: openAiStyle,
  openrouter: openAiStyle,
  'openai-compatible': openAiStyle,
  anthropic: {
    request: (baseUrl, apiKey) => ({
      url: `${baseUrl}/v1/models`,
      headers: {
        accept: 'application/json',
        'anthropic-version': '2023-06-01',
        ...(apiKey ? { 'x-api-key': apiKey } : {}),
      },
    }),
    models: (body) =>
      ((body as { data?: { id?: unknown }[] })?.data ?? []).map((m) => String(m.id ?? '')).filter(Boolean),
  },
  gemini: {
    request: (baseUrl, apiKey) => ({
      url: `${baseUrl}/models`,
      headers: { accept: 'application/json', ...(apiKey ? { 'x-goog-api-key': apiKey } : {}) },
    }),
    models: (body) =>
      ((body as { models?: { name?: unknown }[] })?.models ?? [])
        .map((m) => String(m.name ?? '').replace(/^models\//, ''))
        .filter(Boolean),
  },
};

/** The provider's own error message from an error response (OpenAI, Anthropic and Google shapes). */
export function providerErrorMessage(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    const error = parsed.error;
    if (typeof error === 'string') return error;
    if (error && typeof error === 'object') {
      const message = (error as { message?: unknown }).message;
      if (typeof message === 'string') return message;
    }
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  const text = body.trim().slice(0, 300);
  return text ? `HTTP ${status}: ${text}` : `HTTP ${status}`;
}
