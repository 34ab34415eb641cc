import { GoogleGenAI, type GenerateContentParameters, type GenerateContentResponse } from '@google/genai';
import { nodeFetch } from '../http/node-fetch';
import { incomplete, ProviderError, toProviderError } from '../provider-error';
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

function usageFromGemini(response: GenerateContentResponse): TokenUsage | undefined {
  const u = response.usageMetadata;
  if (!u) return undefined;
  return {
    inputTokens: u.promptTokenCount ?? 0,
    // Thinking tokens are billed as output.
    outputTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0),
    cachedInputTokens: u.cachedContentTokenCount ?? 0,
  };
}

function finishOf(reason: string | undefined): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason === 'SAFETY' || reason === 'RECITATION' || reason === 'BLOCKLIST' || reason === 'PROHIBITED_CONTENT')
    return 'content_filter';
  return 'stop';
}

function textOf(response: GenerateContentResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  return parts.map((p) => (p.thought ? '' : (p.text ?? ''))).join('');
}

/** Gemini's errors carry the retry delay in the body (RetryInfo), not in a header. */
function geminiError(provider: string, e: unknown, aborted: boolean | undefined): ProviderError {
  const err = toProviderError(provider, e, { callerAborted: aborted });
  if (err.kind === 'rate_limited' && err.retryAfterMs === undefined && e instanceof Error) {
    const m = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(e.message);
    if (m) err.extra.retryAfterMs = Math.round(Number(m[1]) * 1000);
  }
  return err;
}

/** Google Gemini through `@google/genai` (base URL via httpOptions; the SDK's retries off). */
export class GeminiProvider implements LlmProvider {
  readonly kind = 'gemini';
  readonly offline = false;
  readonly defaultModel?: string;
  private readonly client: GoogleGenAI;

  constructor(
    readonly id: string,
    config: ProviderConfig,
  ) {
    this.defaultModel = config.defaultModel;
    this.client = new GoogleGenAI({
      apiKey: config.apiKey ?? 'missing-key',
      httpOptions: {
        ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
        headers: (config.options?.headers ?? {}) as Record<string, string>,
        retryOptions: { attempts: 1 },
        // Passed explicitly (the SDK's implicit global fetch also fails inside Jest's VM context).
        fetch:
          config.options?.builtinFetch === true
            ? (input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init)
            : nodeFetch,
      },
    });
  }

  private params(request: ChatRequest, signal?: AbortSignal): GenerateContentParameters {
    const system = request.messages
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => m.content)
      .join('\n\n');
    const contents = request.messages
      .filter((m) => m.role === 'user' || m.role === 'assistant')
      .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
    return {
      model: request.model,
      contents,
      config: {
        ...(system ? { systemInstruction: system } : {}),
        ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.topP !== undefined ? { topP: request.topP } : {}),
        ...(request.stop?.length ? { stopSequences: request.stop } : {}),
        ...(signal ? { abortSignal: signal } : {}),
      },
    };
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    try {
      const res = await this.client.models.generateContent(this.params(request, options.signal));
      const content = textOf(res);
      return {
        id: res.responseId ?? '',
        provider: this.id,
        model: res.modelVersion || request.model,
        content,
        finishReason: finishOf(res.candidates?.[0]?.finishReason),
        usage: usageFromGemini(res) ?? {
          inputTokens: estimateTokens(request.messages.map((m) => m.content).join('\n')),
          outputTokens: estimateTokens(content),
          cachedInputTokens: 0,
          estimated: true,
        },
        offline: false,
      };
    } catch (e) {
      throw geminiError(this.id, e, options.signal?.aborted);
    }
  }

  async *stream(request: ChatRequest, options: CallOptions = {}): AsyncIterable<ChatStreamEvent> {
    let text = '';
    let id = '';
    let model = request.model;
    let finish: FinishReason = 'stop';
    let usage: TokenUsage | undefined;
    let complete = false;
    try {
      const stream = await this.client.models.generateContentStream(this.params(request, options.signal));
      for await (const chunk of stream) {
        if (chunk.responseId) id = chunk.responseId;
        if (chunk.modelVersion) model = chunk.modelVersion;
        const u = usageFromGemini(chunk);
        if (u) usage = u;
        const reason = chunk.candidates?.[0]?.finishReason;
        if (reason) {
          finish = finishOf(reason);
          complete = true;
        }
        const delta = textOf(chunk);
        if (delta) {
          text += delta;
          yield { type: 'delta', text: delta };
        }
      }
      if (!complete) throw incomplete(this.id, options.signal);
    } catch (e) {
      const err = geminiError(this.id, e, options.signal?.aborted);
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

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    try {
      const pager = await this.client.models.list({ config: { abortSignal: options.signal } });
      const out: ModelInfo[] = [];
      for await (const m of pager) {
        const name = (m.name ?? '').replace(/^models\//, '');
        if (name) out.push({ id: name, provider: this.id, ownedBy: 'google' });
      }
      return out;
    } catch (e) {
      throw geminiError(this.id, e, options.signal?.aborted);
    }
  }

  async embed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    try {
      const res = await this.client.models.embedContent({
        model: request.model,
        contents: request.input,
        config: {
          ...(request.dimensions ? { outputDimensionality: request.dimensions } : {}),
          ...(options.signal ? { abortSignal: options.signal } : {}),
        },
      });
      return {
        provider: this.id,
        model: request.model,
        embeddings: (res.embeddings ?? []).map((e) => e.values ?? []),
        usage: { inputTokens: estimateTokens(request.input.join('\n')) },
      };
    } catch (e) {
      throw geminiError(this.id, e, options.signal?.aborted);
    }
  }
}
