import OpenAI, { APIError } from 'openai';
import { Stream } from 'openai/streaming';
import { nodeBodyOf, nodeFetch } from '../http/node-fetch';
import { SseReader, type SseEvent } from '../http/sse';
import { incomplete, toProviderError } from '../provider-error';
import {
  estimateTokens,
  type CallOptions,
  type ChatRequest,
  type ChatResult,
  type ChatStreamEvent,
  type EmbeddingRequest,
  type EmbeddingResult,
  type FinishReason,
  type LlmProvider,
  type ModelInfo,
  type ProviderConfig,
  type TokenUsage,
} from '../provider.types';

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk;

async function* oneByOne<T>(items: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of items) yield [item];
}

/** One event's chunk, as the SDK's Stream reads it: an `error` event or payload is an APIError. */
function chunkOf(sse: SseEvent, headers: Headers): ChatChunk {
  let data: unknown;
  try {
    data = JSON.parse(sse.data);
  } catch {
    throw new SyntaxError('Error reading response: malformed server-sent event JSON.');
  }
  const payload = data as { error?: unknown } | null;
  if (sse.event === 'error')
    throw new APIError(undefined, (payload?.error ?? payload) as object | undefined, undefined, headers);
  if (payload && payload.error) throw new APIError(undefined, payload.error as object, undefined, headers);
  return data as ChatChunk;
}

interface OpenAiUsageLike {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
}

export function usageFromOpenAi(u: OpenAiUsageLike | null | undefined): TokenUsage | undefined {
  if (!u) return undefined;
  return {
    inputTokens: u.prompt_tokens ?? 0,
    outputTokens: u.completion_tokens ?? 0,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

export function finishReasonOf(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    default:
      return 'stop';
  }
}

export interface OpenAiProviderOptions {
  /** Send `max_completion_tokens` (OpenAI) or `max_tokens` (most OpenAI-compatible servers). */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** Default base URL when the config has none. */
  defaultBaseUrl?: string;
  /** Whether a missing API key is allowed (local servers such as Ollama or vLLM need none). */
  keyOptional?: boolean;
}

/**
 * OpenAI and everything that speaks its wire format (OpenRouter, Ollama, vLLM, llama.cpp server),
 * through the official `openai` SDK. The SDK's own retries are off: the resilient wrapper retries.
 */
export class OpenAiProvider implements LlmProvider {
  readonly offline = false;
  readonly defaultModel?: string;
  private readonly client: OpenAI;
  /** Streams are read from node-fetch's Node stream directly (see `readEvents`). */
  private readonly nodeStreams: boolean;

  constructor(
    readonly id: string,
    readonly kind: string,
    config: ProviderConfig,
    private readonly options: OpenAiProviderOptions,
  ) {
    this.defaultModel = config.defaultModel;
    const headers = (config.options?.headers ?? {}) as Record<string, string>;
    this.nodeStreams = config.options?.builtinFetch !== true;
    this.client = new OpenAI({
      apiKey: config.apiKey || (options.keyOptional ? 'not-needed' : undefined),
      baseURL: config.baseUrl || options.defaultBaseUrl,
      maxRetries: 0,
      timeout: 10 * 60_000,
      defaultHeaders: headers,
      organization: null,
      project: null,
      fetch: config.options?.builtinFetch === true ? undefined : nodeFetch,
    });
  }

  private params(request: ChatRequest): ChatParams {
    const params: ChatParams = {
      model: request.model,
      messages: request.messages.map((m) => ({
        role: m.role === 'developer' ? 'system' : m.role,
        content: m.content,
      })),
    };
    if (request.maxOutputTokens !== undefined) {
      if (this.options.maxTokensField === 'max_tokens') params.max_tokens = request.maxOutputTokens;
      else params.max_completion_tokens = request.maxOutputTokens;
    }
    if (request.temperature !== undefined) params.temperature = request.temperature;
    if (request.topP !== undefined) params.top_p = request.topP;
    if (request.stop?.length) params.stop = request.stop;
    return params;
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    try {
      const res = await this.client.chat.completions.create(this.params(request), { signal: options.signal });
      const choice = res.choices[0];
      const content = choice?.message?.content ?? '';
      return {
        id: res.id,
        provider: this.id,
        model: res.model || request.model,
        content,
        finishReason: finishReasonOf(choice?.finish_reason),
        usage: usageFromOpenAi(res.usage) ?? {
          inputTokens: estimateTokens(request.messages.map((m) => m.content).join('\n')),
          outputTokens: estimateTokens(content),
          cachedInputTokens: 0,
          estimated: true,
        },
        offline: false,
      };
    } catch (e) {
      throw toProviderError(this.id, e, { callerAborted: options.signal?.aborted });
    }
  }

  async *stream(request: ChatRequest, options: CallOptions = {}): AsyncIterable<ChatStreamEvent> {
    let text = '';
    let id = '';
    let model = request.model;
    let finish: FinishReason = 'stop';
    let usage: TokenUsage | undefined;
    let complete = false;
    const signal = options.signal;
    try {
      const params = { ...this.params(request), stream: true as const, stream_options: { include_usage: true } };
      const batches = this.nodeStreams
        ? this.readEvents(await this.client.chat.completions.create(params, { signal }).asResponse(), signal)
        : oneByOne(await this.client.chat.completions.create(params, { signal }));
      for await (const batch of batches)
        for (const chunk of batch) {
          if (chunk.id) id = chunk.id;
          if (chunk.model) model = chunk.model;
          if (chunk.usage) usage = usageFromOpenAi(chunk.usage);
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) {
            finish = finishReasonOf(choice.finish_reason);
            complete = true;
          }
          const delta = choice?.delta?.content;
          if (delta) {
            text += delta;
            yield { type: 'delta', text: delta };
          }
        }
      // The SDK ends the iteration quietly when the request is aborted or the connection drops.
      if (!complete) throw incomplete(this.id, signal);
    } catch (e) {
      const err = toProviderError(this.id, e, { callerAborted: signal?.aborted });
      if (text && err.kind !== 'aborted') err.extra.partialText = text;
      throw err;
    }
    yield {
      type: 'done',
      id,
      provider: this.id,
      model,
      finishReason: finish,
      usage: usage ?? {
        inputTokens: estimateTokens(request.messages.map((m) => m.content).join('\n')),
        outputTokens: estimateTokens(text),
        cachedInputTokens: 0,
        estimated: true,
      },
      offline: false,
    };
  }

  /**
   * The chunks of a streamed answer (the SDK made the request and checked its status), in batches.
   * With node-fetch's Node stream the events are decoded here, a batch per network read, as the SDK's
   * Stream would (stops at `[DONE]`, `error` events and `error` payloads throw APIError, an abort
   * ends the iteration quietly); any other Response goes through the SDK's Stream.
   */
  private async *readEvents(response: Response, signal: AbortSignal | undefined): AsyncGenerator<ChatChunk[]> {
    const body = nodeBodyOf(response);
    if (!body) {
      const controller = new AbortController();
      const abort = () => controller.abort();
      signal?.addEventListener('abort', abort, { once: true });
      try {
        yield* oneByOne(Stream.fromSSEResponse<ChatChunk>(response, controller));
      } finally {
        signal?.removeEventListener('abort', abort);
      }
      return;
    }
    const reader = new SseReader(body);
    const abort = () => reader.close();
    if (signal?.aborted) reader.close();
    else signal?.addEventListener('abort', abort, { once: true });
    let done = false;
    try {
      for (let batch = await reader.read(); batch; batch = await reader.read()) {
        const chunks: ChatChunk[] = [];
        for (const sse of batch) {
          if (sse.data === '[DONE]') {
            done = true;
            break;
          }
          try {
            chunks.push(chunkOf(sse, response.headers));
          } catch (e) {
            // The chunks before a failing one are delivered first, as one by one they would be.
            if (chunks.length > 0) yield chunks;
            throw e;
          }
        }
        if (chunks.length > 0) yield chunks;
        if (done) return;
      }
      done = true;
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
      if (done) reader.drain();
      else reader.close();
    }
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    try {
      const out: ModelInfo[] = [];
      for await (const m of this.client.models.list({ signal: options.signal })) {
        out.push({ id: m.id, provider: this.id, ownedBy: m.owned_by, created: m.created });
      }
      return out;
    } catch (e) {
      throw toProviderError(this.id, e, { callerAborted: options.signal?.aborted });
    }
  }

  async embed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    try {
      const res = await this.client.embeddings.create(
        {
          model: request.model,
          input: request.input,
          ...(request.dimensions ? { dimensions: request.dimensions } : {}),
        },
        { signal: options.signal },
      );
      const sorted = [...res.data].sort((a, b) => a.index - b.index);
      return {
        provider: this.id,
        model: res.model || request.model,
        embeddings: sorted.map((d) => d.embedding),
        usage: { inputTokens: res.usage?.prompt_tokens ?? estimateTokens(request.input.join('\n')) },
      };
    } catch (e) {
      throw toProviderError(this.id, e, { callerAborted: options.signal?.aborted });
    }
  }
}
