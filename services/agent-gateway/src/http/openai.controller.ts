import { performance } from 'node:perf_hooks';
import { Body, Controller, Get, HttpCode, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentIdentity, toApiError, type Identity } from '@hishamos/platform';
import type { ChatStreamEvent } from '@hishamos/providers';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { RequestTraceInterceptor, traceRequest } from './request-trace.interceptor';
import type { Caller } from '../usecases/caller';
import {
  CreateChatCompletionUseCase,
  type CreateChatCompletionCommand,
  type PreparedChat,
} from '../usecases/create-chat-completion/create-chat-completion.usecase';
import {
  acceptsChatCompletionBody,
  parseChatCompletionBody,
} from '../usecases/create-chat-completion/chat-completion-body';
import {
  CreateEmbeddingsCommand,
  CreateEmbeddingsUseCase,
} from '../usecases/create-embeddings/create-embeddings.usecase';
import { ListModelsUseCase } from '../usecases/list-models/list-models.usecase';
import { requestStarted } from './request-arrival';
import { chunkFrames, usageBody } from './sse-frames';

const caller = (identity: Identity): Caller => ({ identity, via: identity.via });

function hishamosHeaders(id: string, provider: string, model: string, offline: boolean): Record<string, string> {
  return {
    'x-hishamos-execution-id': id,
    'x-hishamos-provider': provider,
    'x-hishamos-model': model,
    'x-hishamos-offline': String(offline),
  };
}

/**
 * The OpenAI-compatible API: any OpenAI client (base URL `<gateway>/v1`, an API key `hos_...`) can
 * use HishamOS. Thin: authenticate (global guard), build the command, call the use case, shape the
 * answer as OpenAI does (SSE for `stream: true`, errors with `type` and `param`).
 */
@Controller('v1')
export class OpenAiController {
  constructor(
    private readonly chat: CreateChatCompletionUseCase,
    private readonly embeddings: CreateEmbeddingsUseCase,
    private readonly listModels: ListModelsUseCase,
    private readonly metrics: GatewayMetrics,
  ) {}

  @Get('models')
  @UseInterceptors(RequestTraceInterceptor)
  async models(@CurrentIdentity() identity: Identity) {
    return { object: 'list', data: await this.listModels.execute(caller(identity)) };
  }

  @Post('embeddings')
  @HttpCode(200)
  @UseInterceptors(RequestTraceInterceptor)
  async embed(
    @Body() body: CreateEmbeddingsCommand,
    @CurrentIdentity() identity: Identity,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { id, result, encoding } = await this.embeddings.execute(body, caller(identity));
    void reply.headers(hishamosHeaders(id, result.provider, result.model, false));
    return {
      object: 'list',
      model: body.model,
      data: result.embeddings.map((e, index) => ({
        object: 'embedding',
        index,
        embedding: encoding === 'base64' ? Buffer.from(new Float32Array(e).buffer).toString('base64') : e,
      })),
      usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
    };
  }

  /**
   * The hot path: no Nest interceptor (the server span is started here, as RequestTraceInterceptor
   * would) and the body is typed `unknown` so the global ValidationPipe passes it through;
   * parseChatCompletionBody checks it (a fast path, else the same pipe, so the same 400s).
   */
  @Post('chat/completions')
  completions(
    @Body() raw: unknown,
    @CurrentIdentity() identity: Identity,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const started = requestStarted(req.raw);
    return traceRequest(req, async () => {
      const body = acceptsChatCompletionBody(raw) ? raw : await parseChatCompletionBody(raw);
      return this.complete(body, identity, started, reply);
    });
  }

  private async complete(
    body: CreateChatCompletionCommand,
    identity: Identity,
    started: number,
    reply: FastifyReply,
  ): Promise<void> {
    const endpoint = body.stream ? 'chat_stream' : 'chat';
    let prepared: PreparedChat;
    try {
      prepared = await this.chat.prepare(body, caller(identity));
    } catch (error) {
      this.metrics.requests.inc({ endpoint, outcome: toApiError(error).status < 500 ? 'refused' : 'error' });
      throw error;
    }
    if (body.stream) return this.stream(prepared, started, reply);
    let completed: Awaited<ReturnType<CreateChatCompletionUseCase['complete']>>;
    try {
      completed = await this.chat.complete(prepared);
    } catch (error) {
      this.metrics.requests.inc({ endpoint, outcome: 'error' });
      throw error;
    }
    const { id, result, providerMs } = completed;
    const answer = {
      id: `chatcmpl-${id}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: prepared.requestedModel,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: result.content, refusal: null },
          finish_reason: result.finishReason,
          logprobs: null,
        },
      ],
      usage: usageBody(result.usage),
      system_fingerprint: null,
      hishamos: { execution_id: id, provider: result.provider, model: result.model, offline: result.offline },
    };
    this.metrics.overhead.observe({ endpoint: 'chat' }, Math.max(0, performance.now() - started - providerMs) / 1000);
    this.metrics.requests.inc({ endpoint: 'chat', outcome: 'ok' });
    await reply
      .status(200)
      .headers(hishamosHeaders(id, result.provider, result.model, result.offline))
      .send(answer);
  }

  /**
   * SSE in OpenAI's format. Headers go out with the provider's first event, so a provider that fails
   * before answering still gets a proper HTTP error. A client that disconnects aborts the upstream
   * call; the use case then records (and charges) what was produced.
   */
  private async stream(prepared: PreparedChat, started: number, reply: FastifyReply): Promise<void> {
    const abort = new AbortController();
    let providerMs = 0;
    const events = this.chat.stream(prepared, abort.signal, (ms) => (providerMs = ms));
    const raw = reply.raw;
    let finished = false;
    const onClose = () => {
      if (!finished) abort.abort();
    };
    raw.on('close', onClose);
    const created = Math.floor(Date.now() / 1000);
    const frames = chunkFrames(prepared.id, created, prepared.requestedModel);
    // Frames wait for the end of the event loop's current I/O phase: the events of every upstream read
    // that arrived together (and the end, when it came too) leave in one socket write, not one each.
    let pending = '';
    const flush = () => {
      const chunk = pending;
      pending = '';
      if (chunk && !raw.destroyed && !raw.writableEnded) raw.write(chunk);
    };
    const send = (chunk: string) => {
      if (!pending) setImmediate(flush);
      pending += chunk;
    };
    const end = (last = '') => {
      const chunk = pending + last;
      pending = '';
      raw.end(chunk || undefined);
    };
    let first: IteratorResult<ChatStreamEvent>;
    try {
      first = await events.next();
    } catch (error) {
      raw.off('close', onClose);
      this.metrics.requests.inc({ endpoint: 'chat_stream', outcome: 'error' });
      throw error;
    }
    reply.hijack();
    const head = first.done ? undefined : first.value;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-hishamos-execution-id': prepared.id,
      ...(head?.type === 'done'
        ? { 'x-hishamos-provider': head.provider, 'x-hishamos-offline': String(head.offline) }
        : {}),
    });
    send(frames.role);
    let outcome = 'ok';
    // The answer is complete once the provider's last event is out; with USAGE_RECORD_BEFORE_RESPONSE off
    // it ends there, and the use case records the usage while the client already has everything.
    let answered = false;
    let answeredAt = 0;
    const answer = () => {
      answered = true;
      finished = true;
      answeredAt = performance.now();
      end('data: [DONE]\n\n');
    };
    try {
      let next: IteratorResult<ChatStreamEvent> = first;
      while (!next.done) {
        const event = next.value;
        if (raw.destroyed && !answered) break;
        if (event.type === 'delta') {
          send(frames.delta(event.text));
        } else {
          send(frames.finish(event.finishReason));
          if (prepared.includeUsage) send(frames.usage(event.usage));
          if (!this.chat.recordsBeforeResponse) answer();
        }
        next = await events.next();
      }
      if (raw.destroyed && !answered) {
        outcome = 'client_disconnected';
        await events.return(undefined);
      } else if (!answered) answer();
    } catch (error) {
      outcome = abort.signal.aborted ? 'client_disconnected' : 'error';
      const e = toApiError(error);
      if (!raw.destroyed && !answered) send(`data: ${JSON.stringify({ error: e.body().error })}\n\n`);
    } finally {
      finished = true;
      raw.off('close', onClose);
      if (!raw.destroyed && !raw.writableEnded) end();
      this.metrics.requests.inc({ endpoint: 'chat_stream', outcome });
      if (outcome === 'ok')
        this.metrics.overhead.observe(
          { endpoint: 'chat_stream' },
          Math.max(0, (answeredAt || performance.now()) - started - providerMs) / 1000,
        );
    }
  }
}
