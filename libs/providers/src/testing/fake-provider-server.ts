import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { offlineEmbedding, sectionsOf } from '../adapters/offline.provider';
import { estimateTokens, type ChatMessage } from '../provider.types';

/**
 * A fake LLM provider on loopback that speaks the OpenAI (/v1/chat/completions incl. SSE, /v1/models,
 * /v1/embeddings), Anthropic (/v1/messages incl. SSE, /v1/models) and Gemini
 * (/v1beta/models/{m}:generateContent, :streamGenerateContent?alt=sse, :embedContent,
 * :batchEmbedContents, /v1beta/models) wire formats, so the real SDKs can be tested against it,
 * with scriptable faults: an error status (429 with Retry-After, 500, ...), slow answers, streams that
 * drop after some chunks, connections reset, and a fixed latency for benchmarks.
 */

export type FakeRoute =
  | 'openai.chat'
  | 'openai.models'
  | 'openai.embeddings'
  | 'anthropic.messages'
  | 'anthropic.models'
  | 'gemini.generate'
  | 'gemini.stream'
  | 'gemini.models'
  | 'gemini.embed';

export type FakeFault =
  /** Answer with this status in the vendor's error shape; Retry-After (seconds or date) / retry-after-ms when given. */
  | { status: number; retryAfter?: string; retryAfterMs?: number; message?: string }
  /** Wait this long before answering (on top of the latency), then answer normally. */
  | { delayMs: number }
  /** Streams: send this many chunks, then cut the connection. Non-streaming: cut it before answering. */
  | { dropAfterChunks: number }
  /** Cut the connection without answering. */
  | { reset: true };

export interface FakeFaultRule {
  fault: FakeFault;
  /** How many matching requests get it (default 1; Infinity for all). */
  times: number;
  route?: FakeRoute;
  model?: string;
}

export interface FakeRequest {
  route: FakeRoute;
  method: string;
  path: string;
  model?: string;
  stream: boolean;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | undefined;
  at: number;
  /** The fault this request got, if any. */
  fault?: FakeFault;
}

export interface FakeReplyContext {
  route: FakeRoute;
  model: string;
  messages: ChatMessage[];
}

export interface FakeProviderOptions {
  /** Fixed latency before every answer (streams: before the first chunk). */
  latencyMs?: number;
  /** Delay between stream chunks. */
  chunkDelayMs?: number;
  /** Words per stream chunk (default 4). */
  chunkWords?: number;
  /** When set, requests must present this key (Bearer, x-api-key or x-goog-api-key); others get 401. */
  apiKey?: string;
  /** The models it lists (default fake-gpt, fake-claude, fake-gemini, fake-embed). */
  models?: string[];
  /** Keep at most this many requests in `requests` (default 10000; 0 = record nothing). */
  maxRecorded?: number;
  reply?: (ctx: FakeReplyContext) => string;
}

/** The default answer: the requested output sections with placeholder text, or a short greeting. */
export function defaultFakeReply(ctx: FakeReplyContext): string {
  const sections = sectionsOf({ model: ctx.model, messages: ctx.messages });
  if (sections.length === 0) return `Hello from the fake provider (${ctx.model}). This answer has a few words in it.`;
  return sections.map((s) => `## ${s.title}\n\nFake ${s.title.toLowerCase()} for the test.`).join('\n\n');
}

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

function chunksOf(text: string, words: number): string[] {
  const parts = text.split(/(?<=\s)/);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += words) out.push(parts.slice(i, i + words).join(''));
  return out.length ? out : [''];
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p === 'string' ? p : ((p as { text?: string }).text ?? ''))).join('');
  return '';
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}${(++counter).toString(36).padStart(8, '0')}`;

export class FakeProviderServer {
  latencyMs: number;
  chunkDelayMs: number;
  chunkWords: number;
  apiKey?: string;
  models: string[];
  reply: (ctx: FakeReplyContext) => string;
  readonly requests: FakeRequest[] = [];
  private rules: FakeFaultRule[] = [];
  private readonly maxRecorded: number;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: Server,
    options: FakeProviderOptions,
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.chunkDelayMs = options.chunkDelayMs ?? 0;
    this.chunkWords = options.chunkWords ?? 4;
    this.apiKey = options.apiKey;
    this.models = options.models ?? ['fake-gpt', 'fake-claude', 'fake-gemini', 'fake-embed'];
    this.reply = options.reply ?? defaultFakeReply;
    this.maxRecorded = options.maxRecorded ?? 10_000;
  }

  static async start(options: FakeProviderOptions = {}): Promise<FakeProviderServer> {
    const server = createServer();
    server.keepAliveTimeout = 65_000;
    const self = new FakeProviderServer(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void self.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    server.on('connection', (s) => {
      self.sockets.add(s);
      s.once('close', () => self.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  /** Base URL for the openai SDK (and OpenRouter / OpenAI-compatible configs). */
  get openaiBaseUrl(): string {
    return `${this.url}/v1`;
  }
  /** Base URL for @anthropic-ai/sdk. */
  get anthropicBaseUrl(): string {
    return this.url;
  }
  /** Base URL for @google/genai (httpOptions.baseUrl). */
  get geminiBaseUrl(): string {
    return this.url;
  }

  /** Scripts a fault for the next `times` matching requests (in the order added). */
  fail(fault: FakeFault, opts: { times?: number; route?: FakeRoute; model?: string } = {}): this {
    this.rules.push({ fault, times: opts.times ?? 1, route: opts.route, model: opts.model });
    return this;
  }

  clearFaults(): void {
    this.rules = [];
  }

  /** Forgets recorded requests and scripted faults. */
  reset(): void {
    this.requests.length = 0;
    this.rules = [];
  }

  count(route?: FakeRoute): number {
    return route ? this.requests.filter((r) => r.route === route).length : this.requests.length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(route: FakeRoute, model: string | undefined): FakeFault | undefined {
    const i = this.rules.findIndex((r) => (!r.route || r.route === route) && (!r.model || r.model === model));
    if (i < 0) return undefined;
    const rule = this.rules[i];
    rule.times--;
    if (rule.times <= 0) this.rules.splice(i, 1);
    return rule.fault;
  }

  private async readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
    if (req.method === 'GET') return undefined;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (chunks.length === 0) return undefined;
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  private route(req: IncomingMessage, path: string): { route: FakeRoute; model?: string } | undefined {
    const anthropic = req.headers['anthropic-version'] !== undefined;
    if (req.method === 'POST' && path === '/v1/chat/completions') return { route: 'openai.chat' };
    if (req.method === 'POST' && path === '/v1/embeddings') return { route: 'openai.embeddings' };
    if (req.method === 'POST' && path === '/v1/messages') return { route: 'anthropic.messages' };
    const google = req.headers['x-goog-api-client'] !== undefined || req.headers['x-goog-api-key'] !== undefined;
    if (req.method === 'GET' && path === '/v1/models' && !google)
      return { route: anthropic ? 'anthropic.models' : 'openai.models' };
    if (req.method === 'GET' && /^\/v1(beta)?\/models$/.test(path)) return { route: 'gemini.models' };
    const g = /^\/v1(?:beta)?\/models\/([^:/]+):(\w+)$/.exec(path);
    if (req.method === 'POST' && g) {
      const model = decodeURIComponent(g[1]);
      if (g[2] === 'generateContent') return { route: 'gemini.generate', model };
      if (g[2] === 'streamGenerateContent') return { route: 'gemini.stream', model };
      if (g[2] === 'embedContent' || g[2] === 'batchEmbedContents') return { route: 'gemini.embed', model };
    }
    return undefined;
  }

  private authorized(req: IncomingMessage, route: FakeRoute, query: URLSearchParams): boolean {
    if (!this.apiKey) return true;
    if (route.startsWith('openai')) return req.headers.authorization === `Bearer ${this.apiKey}`;
    if (route.startsWith('anthropic'))
      return req.headers['x-api-key'] === this.apiKey || req.headers.authorization === `Bearer ${this.apiKey}`;
    return req.headers['x-goog-api-key'] === this.apiKey || query.get('key') === this.apiKey;
  }

  private sendError(res: ServerResponse, route: FakeRoute, status: number, message: string, fault?: FakeFault): void {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    let retryDelay: string | undefined;
    if (fault && 'status' in fault) {
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
      if (fault.retryAfter !== undefined && /^\d+$/.test(fault.retryAfter)) retryDelay = `${fault.retryAfter}s`;
    }
    let body: unknown;
    if (route.startsWith('anthropic')) {
      const type =
        status === 429
          ? 'rate_limit_error'
          : status === 401
            ? 'authentication_error'
            : status >= 500
              ? 'api_error'
              : 'invalid_request_error';
      body = { type: 'error', error: { type, message } };
    } else if (route.startsWith('gemini')) {
      body = {
        error: {
          code: status,
          message,
          status: status === 429 ? 'RESOURCE_EXHAUSTED' : status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT',
          ...(retryDelay ? { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }] } : {}),
        },
      };
    } else {
      body = {
        error: {
          message,
          type: status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error',
          param: null,
          code: null,
        },
      };
    }
    res.writeHead(status, headers).end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await this.readBody(req);
    const matched = this.route(req, url.pathname);
    if (!matched) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'no such route' } }));
      return;
    }
    const { route } = matched;
    const model = matched.model ?? (typeof body?.model === 'string' ? body.model : undefined);
    const stream = route === 'gemini.stream' || body?.stream === true;
    const fault = this.takeFault(route, model);
    if (this.maxRecorded > 0) {
      if (this.requests.length >= this.maxRecorded) this.requests.shift();
      this.requests.push({
        route,
        method: req.method ?? 'GET',
        path: url.pathname,
        model,
        stream,
        headers: req.headers,
        body,
        at: Date.now(),
        fault,
      });
    }
    if (!this.authorized(req, route, url.searchParams)) {
      await sleep(this.latencyMs);
      this.sendError(res, route, 401, 'invalid API key');
      return;
    }
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    if (fault && 'reset' in fault) {
      req.socket.destroy();
      return;
    }
    if (fault && 'status' in fault) {
      await sleep(this.latencyMs);
      this.sendError(res, route, fault.status, fault.message ?? `scripted ${fault.status}`, fault);
      return;
    }
    const drop = fault && 'dropAfterChunks' in fault ? fault.dropAfterChunks : undefined;
    if (drop !== undefined && !stream) {
      req.socket.destroy();
      return;
    }
    switch (route) {
      case 'openai.models':
        await sleep(this.latencyMs);
        return this.json(res, {
          object: 'list',
          data: this.models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
        });
      case 'anthropic.models':
        await sleep(this.latencyMs);
        return this.json(res, {
          data: this.models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' })),
          has_more: false,
          first_id: this.models[0] ?? null,
          last_id: this.models[this.models.length - 1] ?? null,
        });
      case 'gemini.models':
        await sleep(this.latencyMs);
        return this.json(res, {
          models: this.models.map((id) => ({
            name: `models/${id}`,
            displayName: id,
            supportedGenerationMethods: ['generateContent', 'embedContent'],
          })),
        });
      case 'openai.embeddings':
        await sleep(this.latencyMs);
        return this.openaiEmbeddings(res, body ?? {});
      case 'gemini.embed':
        await sleep(this.latencyMs);
        return this.geminiEmbeddings(res, body ?? {});
      case 'openai.chat':
        return this.openaiChat(res, body ?? {}, stream, drop);
      case 'anthropic.messages':
        return this.anthropicMessages(res, body ?? {}, stream, drop);
      case 'gemini.generate':
      case 'gemini.stream':
        return this.gemini(res, body ?? {}, model ?? 'fake-gemini', stream, drop);
    }
  }

  private json(res: ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  private async sse(res: ServerResponse, frames: string[], drop: number | undefined): Promise<void> {
    await sleep(this.latencyMs);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (drop !== undefined) res.flushHeaders();
    for (let i = 0; i < frames.length; i++) {
      if (drop !== undefined && i >= drop) {
        // Let the frames sent so far reach the client, then cut the connection mid-stream.
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      if (i > 0 && this.chunkDelayMs) await sleep(this.chunkDelayMs);
      if (res.destroyed) return;
      if (drop !== undefined) await new Promise<void>((r) => res.write(frames[i], () => r()));
      else res.write(frames[i]);
    }
    res.end();
  }

  private openaiChat(
    res: ServerResponse,
    body: Record<string, unknown>,
    stream: boolean,
    drop?: number,
  ): Promise<void> | void {
    const model = String(body.model ?? 'fake-gpt');
    const messages = ((body.messages as { role: ChatMessage['role']; content: unknown }[]) ?? []).map((m) => ({
      role: m.role,
      content: contentText(m.content),
    }));
    const text = this.reply({ route: 'openai.chat', model, messages });
    const prompt = estimateTokens(messages.map((m) => m.content).join('\n'));
    const completion = estimateTokens(text);
    const usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: 0 },
    };
    const id = nextId('chatcmpl-fake');
    const created = Math.floor(Date.now() / 1000);
    if (!stream) {
      return sleep(this.latencyMs).then(() =>
        this.json(res, {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: text, refusal: null },
              finish_reason: 'stop',
              logprobs: null,
            },
          ],
          usage,
        }),
      );
    }
    const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    const base = { id, object: 'chat.completion.chunk', created, model };
    const frames = chunksOf(text, this.chunkWords).map((c, i) =>
      frame({
        ...base,
        choices: [
          { index: 0, delta: i === 0 ? { role: 'assistant', content: c } : { content: c }, finish_reason: null },
        ],
      }),
    );
    frames.push(frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    const opts = body.stream_options as { include_usage?: boolean } | undefined;
    if (opts?.include_usage) frames.push(frame({ ...base, choices: [], usage }));
    frames.push('data: [DONE]\n\n');
    return this.sse(res, frames, drop);
  }

  private anthropicMessages(
    res: ServerResponse,
    body: Record<string, unknown>,
    stream: boolean,
    drop?: number,
  ): Promise<void> | void {
    const model = String(body.model ?? 'fake-claude');
    const messages: ChatMessage[] = [];
    if (body.system) messages.push({ role: 'system', content: contentText(body.system) });
    for (const m of (body.messages as { role: 'user' | 'assistant'; content: unknown }[]) ?? [])
      messages.push({ role: m.role, content: contentText(m.content) });
    const text = this.reply({ route: 'anthropic.messages', model, messages });
    const input = estimateTokens(messages.map((m) => m.content).join('\n'));
    const output = estimateTokens(text);
    const id = nextId('msg_fake');
    if (!stream) {
      return sleep(this.latencyMs).then(() =>
        this.json(res, {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: input,
            output_tokens: output,
            cache_read_input_tokens: 0,
            cache_creation_input_tokens: 0,
          },
        }),
      );
    }
    const ev = (type: string, o: unknown) => `event: ${type}\ndata: ${JSON.stringify(o)}\n\n`;
    const frames = [
      ev('message_start', {
        type: 'message_start',
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: input, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        },
      }),
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ev('ping', { type: 'ping' }),
      ...chunksOf(text, this.chunkWords).map((c) =>
        ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: c } }),
      ),
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
      ev('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: output },
      }),
      ev('message_stop', { type: 'message_stop' }),
    ];
    // `dropAfterChunks` counts text chunks: message_start, content_block_start and ping come first.
    return this.sse(res, frames, drop === undefined ? undefined : drop + 3);
  }

  private gemini(
    res: ServerResponse,
    body: Record<string, unknown>,
    model: string,
    stream: boolean,
    drop?: number,
  ): Promise<void> | void {
    const messages: ChatMessage[] = [];
    const sys = body.systemInstruction as { parts?: { text?: string }[] } | undefined;
    if (sys?.parts) messages.push({ role: 'system', content: sys.parts.map((p) => p.text ?? '').join('') });
    for (const c of (body.contents as { role?: string; parts?: { text?: string }[] }[]) ?? [])
      messages.push({
        role: c.role === 'model' ? 'assistant' : 'user',
        content: (c.parts ?? []).map((p) => p.text ?? '').join(''),
      });
    const text = this.reply({ route: stream ? 'gemini.stream' : 'gemini.generate', model, messages });
    const prompt = estimateTokens(messages.map((m) => m.content).join('\n'));
    const output = estimateTokens(text);
    const usageMetadata = { promptTokenCount: prompt, candidatesTokenCount: output, totalTokenCount: prompt + output };
    const responseId = nextId('gem-');
    if (!stream) {
      return sleep(this.latencyMs).then(() =>
        this.json(res, {
          candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
          usageMetadata,
          modelVersion: model,
          responseId,
        }),
      );
    }
    const parts = chunksOf(text, this.chunkWords);
    const frames = parts.map(
      (c, i) =>
        `data: ${JSON.stringify({
          candidates: [
            {
              content: { role: 'model', parts: [{ text: c }] },
              index: 0,
              ...(i === parts.length - 1 ? { finishReason: 'STOP' } : {}),
            },
          ],
          ...(i === parts.length - 1 ? { usageMetadata } : {}),
          modelVersion: model,
          responseId,
        })}\r\n\r\n`,
    );
    return this.sse(res, frames, drop);
  }

  private openaiEmbeddings(res: ServerResponse, body: Record<string, unknown>): void {
    const inputs = Array.isArray(body.input) ? (body.input as unknown[]).map(String) : [String(body.input ?? '')];
    const dims = typeof body.dimensions === 'number' ? body.dimensions : 8;
    const base64 = body.encoding_format === 'base64';
    const data = inputs.map((t, index) => {
      const v = offlineEmbedding(t, dims);
      return {
        object: 'embedding',
        index,
        embedding: base64 ? Buffer.from(Float32Array.from(v).buffer).toString('base64') : v,
      };
    });
    const tokens = estimateTokens(inputs.join('\n'));
    this.json(res, {
      object: 'list',
      data,
      model: String(body.model ?? 'fake-embed'),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  private geminiEmbeddings(res: ServerResponse, body: Record<string, unknown>): void {
    const textOfContent = (c: { parts?: { text?: string }[] } | undefined) =>
      (c?.parts ?? []).map((p) => p.text ?? '').join('');
    const dims = 8;
    if (Array.isArray(body.requests)) {
      const embeddings = (
        body.requests as { content?: { parts?: { text?: string }[] }; outputDimensionality?: number }[]
      ).map((r) => ({ values: offlineEmbedding(textOfContent(r.content), r.outputDimensionality ?? dims) }));
      return this.json(res, { embeddings });
    }
    const content = body.content as { parts?: { text?: string }[] } | undefined;
    return this.json(res, { embedding: { values: offlineEmbedding(textOfContent(content), dims) } });
  }
}
