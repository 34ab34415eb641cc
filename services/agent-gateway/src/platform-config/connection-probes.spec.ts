import { CONNECTION_PROBES, providerErrorMessage } from './connection-probes';
import { PROVIDER_KIND_IDS, PROVIDER_KINDS } from './provider-kinds';

describe('Test Connection probes', () => {
  it('has a probe for every networked kind', () => {
    for (const kind of PROVIDER_KIND_IDS)
      if (!PROVIDER_KINDS[kind].offline) expect(CONNECTION_PROBES[kind]).toBeDefined();
  });

  it('builds each vendor’s model-list request and reads its answer', () => {
    expect(CONNECTION_PROBES.openai.request('https://api.openai.com/v1', 'k')).toEqual({
      url: 'https://api.openai.com/v1/models',
      headers: { accept: 'application/json', authorization: 'Bearer k' },
    });
    expect(CONNECTION_PROBES.anthropic.request('https://api.anthropic.com', 'k').url).toBe(
      'https://api.anthropic.com/v1/models',
    );
    expect(CONNECTION_PROBES.anthropic.request('https://api.anthropic.com', 'k').headers['x-api-key']).toBe('k');
    expect(CONNECTION_PROBES.gemini.models({ models: [{ name: 'models/gemini-2.5-pro' }] })).toEqual([
      'gemini-2.5-pro',
    ]);
    expect(CONNECTION_PROBES.openai.models({ data: [{ id: 'a' }, { id: 'b' }] })).toEqual(['a', 'b']);
  });

  it('extracts the provider’s error message', () => {
    expect(providerErrorMessage(401, '{"error":{"message":"bad key"}}')).toBe('bad key');
    expect(providerErrorMessage(403, '{"error":"nope"}')).toBe('nope');
    expect(providerErrorMessage(500, 'upstream exploded')).toBe('HTTP 500: upstream exploded');
    expect(providerErrorMessage(502, '')).toBe('HTTP 502');
  });
});
