import Anthropic from '@anthropic-ai/sdk';
import { nodeFetch } from '../http/node-fetch';
import { incomplete, toProviderError } from '../provider-error';
import {
  estimateTokens,
  type CallOptions,
  type ChatRequest,
  type ChatResult,
  type ChatStreamEvent,
  type FinishReason,
  type LlmProvider,
  type ModelInfo,
  type ProviderConfig,
  type TokenUsage,
} from '../provider.types';

interface AnthropicUsageLike {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** Anthropic counts cached input apart from input_tokens; HishamOS's input count includes it (as OpenAI's does). */
export function usageFromAnthropic(u: AnthropicUsageLike): TokenUsage {
  const cached = u.cache_read_input_tokens ?? 0;
  return {
    inputTokens: (u.input_tokens ?? 0) + cached + (u.cache_creation_input_tokens ?? 0),
    outputTokens: u.output_tokens ?? 0,
    cachedInputTokens: cached,
  };
}

function finishOf(reason: string | null | undefined): FinishReason {
  if (reason === 'max_tokens') return 'length';
  if (reason === 'refusal') return 'content_filter';
  if (reason === 'tool_use') return 'tool_calls';
  return 'stop';
}

type AnthropicMessage = { role: 'user' | 'assistant'; content: string };

/** System prompts go to `system`; consecutive turns of one role are merged (the API wants them alternating). */
function split(request: ChatRequest): { system?: string; messages: AnthropicMessage[] } {
  const system = request.messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => m.content)
    .join('\n\n');
  const messages: AnthropicMessage[] = [];
  for (const m of request.messages) {
    if (m.role === 'system' || m.role === 'developer') continue;
    const last = messages[messages.length - 1];
    if (last && last.role === m.role) last.content += `\n\n${m.content}`;
    else messages.push({ role: m.role, content: m.content });
  }
  if (messages.length === 0 || messages[0].role !== 'user') messages.unshift({ role: 'user', content: '(no message)' });
  return { system: system || undefined, messages };
}

/** Anthropic's Messages API through the official `@anthropic-ai/sdk` (its own retries off). */
export class AnthropicProvider implements LlmProvider {
  readonly kind = 'anthropic';
  readonly offline = false;
  readonly defaultModel?: string;
  private readonly client: Anthropic;
  private readonly defaultMaxTokens: number;

  constructor(
    readonly id: string,
    config: ProviderConfig,
  ) {
    this.defaultModel = config.defaultModel;
    this.defaultMaxTokens = Number(config.options?.defaultMaxTokens ?? 4096);
    this.client = new Anthropic({
      apiKey: config.apiKey ?? null,
      authToken: null,
      baseURL: config.baseUrl || undefined,
      maxRetries: 0,
      timeout: 10 * 60_000,
      defaultHeaders: (config.options?.headers ?? {}) as Record<string, string>,
      fetch: config.options?.builtinFetch === true ? undefined : nodeFetch,
    });
  }

  private params(request: ChatRequest) {
    const { system, messages } = split(request);
    return {
      model: request.model,
      max_tokens: request.maxOutputTokens ?? this.defaultMaxTokens,
      messages,
      ...(system ? { system } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.stop?.length ? { stop_sequences: request.stop } : {}),
    };
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    try {
      const res = await this.client.messages.create(this.params(request), { signal: options.signal });
      const content = res.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      return {
        id: res.id,
        provider: this.id,
        model: res.model || request.model,
        content,
        finishReason: finishOf(res.stop_reason),
        usage: usageFromAnthropic(res.usage),
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
    let sawDelta = false;
    let complete = false;
    try {
      const stream = await this.client.messages.create(
        { ...this.params(request), stream: true },
        { signal: options.signal },
      );
      for await (const event of stream) {
        if (event.type === 'message_start') {
          id = event.message.id;
          model = event.message.model || model;
          usage = usageFromAnthropic(event.message.usage);
        } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          text += event.delta.text;
          yield { type: 'delta', text: event.delta.text };
        } else if (event.type === 'message_stop') {
          complete = true;
        } else if (event.type === 'message_delta') {
          // Anthropic's usage at the end of the stream: output tokens (cumulative), input again on newer APIs.
          sawDelta = true;
          finish = finishOf(event.delta.stop_reason);
          const u = event.usage;
          const start = usage ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
          usage =
            u.input_tokens !== null && u.input_tokens !== undefined
              ? usageFromAnthropic(u)
              : { ...start, outputTokens: u.output_tokens ?? start.outputTokens };
        }
      }
      if (!complete) throw incomplete(this.id, options.signal);
    } catch (e) {
      const err = toProviderError(this.id, e, { callerAborted: options.signal?.aborted });
      if (text && err.kind !== 'aborted') err.extra.partialText = text;
      throw err;
    }
    const final: TokenUsage =
      usage && sawDelta
        ? usage
        : {
            inputTokens: usage?.inputTokens || estimateTokens(request.messages.map((m) => m.content).join('\n')),
            outputTokens: estimateTokens(text),
            cachedInputTokens: usage?.cachedInputTokens ?? 0,
            estimated: true,
          };
    yield { type: 'done', id, provider: this.id, model, finishReason: finish, usage: final, offline: false };
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    try {
      const out: ModelInfo[] = [];
      for await (const m of this.client.models.list({}, { signal: options.signal })) {
        out.push({
          id: m.id,
          provider: this.id,
          ownedBy: 'anthropic',
          created: Math.floor(Date.parse(m.created_at) / 1000) || undefined,
        });
      }
      return out;
    } catch (e) {
      throw toProviderError(this.id, e, { callerAborted: options.signal?.aborted });
    }
  }
}
