import { createHash } from 'node:crypto';
import {
  estimateTokens,
  type ChatRequest,
  type ChatResult,
  type ChatStreamEvent,
  type EmbeddingRequest,
  type EmbeddingResult,
  type LlmProvider,
  type ModelInfo,
  type OutputSectionSpec,
  type ProviderConfig,
} from '../provider.types';

export const OFFLINE_MODEL = 'offline';
export const OFFLINE_NOTICE =
  '_Produced offline by HishamOS without a language model (provider `offline`, model `offline`). ' +
  'This is a deterministic placeholder shaped like the expected answer; configure a provider for real output._';

/** `## Title — description` lines, as the gateway's output instructions write them. */
const INSTRUCTION_LINE = /^##\s+(.+?)\s+[—–-]\s+(.+)$/;

/** The sections to produce: the request's, else those named in the prompt's output instructions. */
export function sectionsOf(request: ChatRequest): OutputSectionSpec[] {
  if (request.outputSections?.length) return request.outputSections;
  const found: OutputSectionSpec[] = [];
  for (const m of request.messages) {
    if (m.role !== 'user') continue;
    for (const line of m.content.split(/\r?\n/)) {
      const match = INSTRUCTION_LINE.exec(line.trim());
      if (match) found.push({ key: match[1].toLowerCase(), title: match[1], description: match[2] });
    }
  }
  return found;
}

function digest(request: ChatRequest): string {
  const h = createHash('sha256');
  for (const m of request.messages) h.update(m.role).update('\0').update(m.content).update('\0');
  return h.digest('hex');
}

/** The start of the request, without the output instructions and headings. */
function quote(text: string, max = 160): string {
  const flat = text
    .split(/\r?\n/)
    .filter((l) => !INSTRUCTION_LINE.test(l.trim()) && !/^(Respond in Markdown|Use no other level-2)/.test(l.trim()))
    .join(' ')
    .replace(/#+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The offline answer: a notice, then one `## <title>` section per output section (or one generic answer). */
export function offlineAnswer(request: ChatRequest): string {
  const hash = digest(request).slice(0, 12);
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const sections = sectionsOf(request);
  const lines = [OFFLINE_NOTICE, ''];
  if (sections.length === 0) {
    lines.push(`Offline answer to: "${quote(lastUser)}" (request digest ${hash}).`);
    return lines.join('\n');
  }
  for (const s of sections) {
    lines.push(`## ${s.title}`, '');
    lines.push(`Offline placeholder for ${s.title}: ${s.description.trim()}`);
    lines.push(`Request digest ${hash}; the request began: "${quote(lastUser, 120)}"`, '');
  }
  return lines.join('\n').trimEnd();
}

/** Deterministic feature-hashed embedding of the words of `text`, L2-normalised. */
export function offlineEmbedding(text: string, dimensions: number): number[] {
  const v = new Float64Array(dimensions);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const w of words) {
    const h = createHash('sha256').update(w).digest();
    const i = h.readUInt32BE(0) % dimensions;
    v[i] += h[4] & 1 ? 1 : -1;
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => x / norm);
}

/**
 * The provider used when no model is configured (the embedded default): deterministic output shaped
 * by the command's output sections, clearly labelled as produced without a model. Model id `offline`.
 */
export class OfflineProvider implements LlmProvider {
  readonly kind = 'offline';
  readonly offline = true;
  readonly defaultModel = OFFLINE_MODEL;
  private readonly dimensions: number;
  private readonly chunkWords: number;

  constructor(
    readonly id: string = 'offline',
    config?: ProviderConfig,
  ) {
    this.dimensions = Number(config?.options?.dimensions ?? 256);
    this.chunkWords = Number(config?.options?.chunkWords ?? 8);
  }

  private result(request: ChatRequest): ChatResult {
    const content = offlineAnswer(request);
    return {
      id: `offline-${digest(request).slice(0, 24)}`,
      provider: this.id,
      model: OFFLINE_MODEL,
      content,
      finishReason: 'stop',
      usage: {
        inputTokens: estimateTokens(request.messages.map((m) => m.content).join('\n')),
        outputTokens: estimateTokens(content),
        cachedInputTokens: 0,
      },
      offline: true,
    };
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    return this.result(request);
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const r = this.result(request);
    const words = r.content.split(/(?<=\s)/);
    for (let i = 0; i < words.length; i += this.chunkWords) {
      yield { type: 'delta', text: words.slice(i, i + this.chunkWords).join('') };
    }
    yield {
      type: 'done',
      id: r.id,
      provider: r.provider,
      model: r.model,
      finishReason: r.finishReason,
      usage: r.usage,
      offline: true,
    };
  }

  async listModels(): Promise<ModelInfo[]> {
    return [{ id: OFFLINE_MODEL, provider: this.id, ownedBy: 'hishamos' }];
  }

  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    const dims = request.dimensions ?? this.dimensions;
    return {
      provider: this.id,
      model: OFFLINE_MODEL,
      embeddings: request.input.map((t) => offlineEmbedding(t, dims)),
      usage: { inputTokens: estimateTokens(request.input.join('\n')) },
    };
  }
}
