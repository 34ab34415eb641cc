/** The one interface every LLM provider adapter implements, and the shapes it speaks. */

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** A named section the answer should contain (a command's output schema), e.g. `## Summary`. */
export interface OutputSectionSpec {
  key: string;
  title: string;
  description: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  /** The command's output sections: the offline provider shapes its answer from them. */
  outputSections?: OutputSectionSpec[];
}

/** Token counts as the provider reported them (or estimated, see `estimated`). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** True when the provider reported nothing (an interrupted stream) and the counts were estimated from text. */
  estimated?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'error';

export interface ChatResult {
  id: string;
  provider: string;
  model: string;
  content: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /** Produced without a model (the offline provider). */
  offline: boolean;
}

/** Streaming: text deltas, then exactly one `done` with the provider's usage. */
export type ChatStreamEvent =
  | { type: 'delta'; text: string }
  | {
      type: 'done';
      id: string;
      provider: string;
      model: string;
      finishReason: FinishReason;
      usage: TokenUsage;
      offline: boolean;
    };

export interface CallOptions {
  /** Aborts the call (the client went away). */
  signal?: AbortSignal;
}

export interface ModelInfo {
  id: string;
  provider: string;
  ownedBy?: string;
  created?: number;
}

export interface EmbeddingRequest {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface EmbeddingResult {
  provider: string;
  model: string;
  embeddings: number[][];
  usage: { inputTokens: number };
}

export interface LlmProvider {
  /** Registry id, e.g. `openai`, `anthropic`, `my-vllm`. */
  readonly id: string;
  /** Adapter kind: openai | anthropic | gemini | openrouter | openai-compatible | offline. */
  readonly kind: string;
  /** True for the offline provider: its output is produced without a model. */
  readonly offline: boolean;
  readonly defaultModel?: string;
  chat(request: ChatRequest, options?: CallOptions): Promise<ChatResult>;
  /** Asks the provider for usage at the end of the stream (stream_options.include_usage, message_delta usage). */
  stream(request: ChatRequest, options?: CallOptions): AsyncIterable<ChatStreamEvent>;
  listModels(options?: CallOptions): Promise<ModelInfo[]>;
  /** Present when the provider offers embeddings. */
  embed?(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResult>;
}

/** How an adapter is configured (the Platform Configuration screen's fields plus the key read from secrets). */
export interface ProviderConfig {
  id: string;
  kind: string;
  baseUrl?: string;
  /** The API key value (read from the secrets service; never logged). */
  apiKey?: string;
  defaultModel?: string;
  /** Extra headers or kind-specific settings (e.g. `headers`, `anthropicVersion`). */
  options?: Record<string, unknown>;
}

/** Rough token estimate (about four characters a token) for text a provider did not count. */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  return Math.max(1, Math.ceil(text.length / 4));
}

export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
}
