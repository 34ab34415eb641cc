import type { FinishReason, TokenUsage } from '@hishamos/providers';

/** The `usage` object of an OpenAI answer. */
export function usageBody(u: Pick<TokenUsage, 'inputTokens' | 'outputTokens' | 'cachedInputTokens'>) {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
  };
}

/**
 * The SSE frames of one streamed chat completion, in OpenAI's format (`data: {chunk}\n\n`). Every
 * chunk starts with the same fields (id, object, created, model, system_fingerprint): they are
 * serialised once per stream, and a frame is that prefix plus its `choices` (and `usage`), so a
 * delta costs one JSON.stringify of its text rather than of a whole chunk object. The bytes are
 * those JSON.stringify gives for the chunk objects, key order included.
 */
export function chunkFrames(id: string, created: number, model: string) {
  const prefix = `data: {"id":${JSON.stringify(`chatcmpl-${id}`)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":`;
  return {
    role: `${prefix}[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}]}\n\n`,
    delta: (text: string) =>
      `${prefix}[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null,"logprobs":null}]}\n\n`,
    finish: (reason: FinishReason) =>
      `${prefix}[{"index":0,"delta":{},"finish_reason":${JSON.stringify(reason)},"logprobs":null}]}\n\n`,
    usage: (u: TokenUsage) => `${prefix}[],"usage":${JSON.stringify(usageBody(u))}}\n\n`,
  };
}
