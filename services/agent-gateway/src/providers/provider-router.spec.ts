import { sdkBaseUrl } from './provider-router';

describe('sdkBaseUrl', () => {
  it('drops the API version the Anthropic and Gemini SDKs add themselves', () => {
    expect(sdkBaseUrl('anthropic', 'https://api.anthropic.com/v1/')).toBe('https://api.anthropic.com');
    expect(sdkBaseUrl('gemini', 'https://generativelanguage.googleapis.com/v1beta')).toBe(
      'https://generativelanguage.googleapis.com',
    );
    expect(sdkBaseUrl('gemini', 'http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
  });
  it('keeps /v1 for OpenAI-style providers', () => {
    expect(sdkBaseUrl('openai', 'https://api.openai.com/v1/')).toBe('https://api.openai.com/v1');
    expect(sdkBaseUrl('openai-compatible', 'http://vllm:8000/v1')).toBe('http://vllm:8000/v1');
    expect(sdkBaseUrl('openai', undefined)).toBeUndefined();
  });
});
