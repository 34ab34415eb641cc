import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { ApiError, SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import {
  estimateTokens,
  FallbackChain,
  ProviderError,
  type ChatMessage,
  type ChatResult,
  type ChatStreamEvent,
  type TokenUsage,
} from '@hishamos/providers';
import type { AgentGatewaySettings } from '../../config/agent-gateway.settings';
import { BUDGET, type BudgetPort, type Reservation } from '../../budget/budget.port';
import { RoleAgentAccess } from '../../execution/ports/role-agent-access';
import { AGENT_ACCESS, type AgentAccessPort } from '../../ports/gateway-ports';
import { AgentDirectory } from '../../execution/agent-directory';
import { ProviderRouter } from '../../providers/provider-router';
import { ExecutionRecorder } from '../../repositories/execution-recorder';
import type { ExecutionRecord } from '../../repositories/execution.repository';
import { mayRunModels, meteringUser, type Caller } from '../caller';
import { errorCodeOf } from '../execute-command/execute-command.usecase';

export class ChatMessageDto {
  @IsIn(['system', 'developer', 'user', 'assistant', 'tool'])
  role!: 'system' | 'developer' | 'user' | 'assistant' | 'tool';

  /** A string, or OpenAI content parts (`[{type: 'text', text}]`). */
  @IsDefined()
  content!: unknown;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  name?: string;

  @Allow()
  tool_call_id?: unknown;

  @Allow()
  tool_calls?: unknown;
}

export class StreamOptionsDto {
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

/** `POST /v1/chat/completions` as OpenAI defines it (the fields HishamOS honours, and common ones it accepts). */
export class CreateChatCompletionCommand {
  @IsString()
  @MaxLength(200)
  model!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(2000)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_tokens?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_completion_tokens?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  top_p?: number;

  @IsOptional()
  stop?: string | string[];

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1)
  n?: number;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  user?: string;

  // Accepted and not used (so OpenAI clients that send them are not refused).
  @Allow() presence_penalty?: unknown;
  @Allow() frequency_penalty?: unknown;
  @Allow() seed?: unknown;
  @Allow() logit_bias?: unknown;
  @Allow() metadata?: unknown;
  @Allow() store?: unknown;
  @Allow() parallel_tool_calls?: unknown;
  @Allow() service_tier?: unknown;
  @Allow() reasoning_effort?: unknown;
}

/** A chat completion checked, routed and reserved: ready to call. */
export interface PreparedChat {
  id: string;
  requestedModel: string;
  caller: Caller;
  chain: FallbackChain;
  messages: ChatMessage[];
  maxTokens: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  agent?: string;
  reservation: Reservation;
  includeUsage: boolean;
}

export interface CompletedChat {
  id: string;
  result: ChatResult;
  providerMs: number;
}

/** Text of an OpenAI message content (a string or text parts). */
function textOf(content: unknown, index: number): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, j) => {
        const p = part as { type?: unknown; text?: unknown };
        if (p && p.type === 'text' && typeof p.text === 'string') return p.text;
        throw ApiError.badRequest(
          `messages.${index}.content.${j}`,
          'only text content parts are supported',
          'unsupported_content',
        );
      })
      .join('');
  }
  if (content === null) return '';
  throw ApiError.badRequest(`messages.${index}.content`, 'must be a string or an array of text parts');
}

/** Most of a conversation kept with an agent chat's execution (its length is a quality feature). */
const MAX_CONVERSATION_CHARS = 100_000;

/** The conversation an agent chat answered (without the agent's system prompt), as a transcript. */
export function conversationOf(messages: ChatMessage[]): string {
  const turns = messages.slice(messages[0]?.role === 'system' ? 1 : 0);
  const text =
    turns.length === 1 && turns[0].role === 'user'
      ? turns[0].content
      : turns.map((m) => `${m.role}: ${m.content}`).join('\n\n');
  return text.length > MAX_CONVERSATION_CHARS ? text.slice(0, MAX_CONVERSATION_CHARS) : text;
}

/** OpenAI's error for a failed provider call (the reservation is released by the caller). */
function providerHttpError(error: ProviderError): ApiError {
  const f = errorCodeOf(error);
  if (error.kind === 'circuit_open' || error.kind === 'not_configured')
    return new ApiError(503, 'provider_unavailable', error.message, {
      reason: error.kind,
      headers: error.retryAfterMs ? { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) } : undefined,
    });
  if (error.kind === 'timeout') return new ApiError(504, 'provider_timeout', error.message, { reason: f.code });
  if (error.kind === 'bad_request')
    return new ApiError(400, 'provider_rejected', error.message, { reason: 'the provider refused the request' });
  return new ApiError(502, 'provider_error', error.message, { reason: f.code });
}

/**
 * The OpenAI-compatible chat completion: `agent/<slug>` applies that agent's system prompt (and needs
 * permission for the agent); any other model needs a role that runs models. Same budget and metering
 * path as agent commands: a reservation first, then the execution row and UsageRecorded in one
 * transaction (and, for `agent/<slug>` models, ExecutionCompleted, so feedback-ml scores the answer). A stream the client abandons is still charged for the tokens it produced (estimated
 * from the text when the provider could not report them).
 */
@Injectable()
export class CreateChatCompletionUseCase {
  private readonly access: AgentAccessPort;
  private readonly settings: AgentGatewaySettings;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly router: ProviderRouter,
    private readonly agents: AgentDirectory,
    private readonly recorder: ExecutionRecorder,
    @Inject(BUDGET) private readonly budget: BudgetPort,
    @Optional() @Inject(AGENT_ACCESS) access?: AgentAccessPort,
  ) {
    this.access = access ?? new RoleAgentAccess();
    this.settings = settingsOf<AgentGatewaySettings>(ctx);
  }

  /** Checks model, permission and input, then reserves budget. Throws ApiError for caller errors. */
  async prepare(command: CreateChatCompletionCommand, caller: Caller): Promise<PreparedChat> {
    const messages: ChatMessage[] = command.messages.map((m, i) => {
      if (m.role === 'tool')
        throw ApiError.badRequest(`messages.${i}.role`, 'tool messages are not supported', 'unsupported_role');
      return { role: m.role, content: textOf(m.content, i) };
    });
    const stop = typeof command.stop === 'string' ? [command.stop] : command.stop;
    if (stop !== undefined && (!Array.isArray(stop) || stop.length > 4 || stop.some((s) => typeof s !== 'string')))
      throw ApiError.badRequest('stop', 'must be a string or up to 4 strings');
    const target = await this.router.resolveModel(command.model);
    if (!target)
      throw new ApiError(
        404,
        'model_not_found',
        `the model ${command.model} does not exist or is not configured (GET /v1/models lists them)`,
        {
          field: 'model',
          reason: 'unknown model',
        },
      );
    let chain: FallbackChain;
    let agent: string | undefined;
    if (target.kind === 'agent') {
      const a = await this.agents.get(target.slug);
      if (!a || !a.enabled)
        throw new ApiError(
          404,
          'model_not_found',
          `the model ${command.model} does not exist: no agent ${target.slug}`,
          { field: 'model', reason: 'unknown agent' },
        );
      if (!(await this.access.canUseAgent(caller.identity, a.slug)))
        throw ApiError.forbidden(`you may not use the ${a.name} (${a.slug})`, 'forbidden_agent');
      agent = a.slug;
      messages.unshift({ role: 'system', content: a.systemPrompt });
      chain = await this.router.chainFor({ defaultProvider: a.defaultProvider, defaultModel: a.defaultModel });
    } else {
      if (!mayRunModels(caller.identity))
        throw ApiError.forbidden('your role may not run models (viewers only read)', 'forbidden_role');
      const provider = await this.router.provider(target.provider);
      if (!provider)
        throw new ApiError(404, 'model_not_found', `provider ${target.provider} is not configured`, {
          field: 'model',
          reason: 'unknown provider',
        });
      chain = this.router.chain([{ provider, model: target.model }]);
    }
    const maxTokens = command.max_completion_tokens ?? command.max_tokens ?? this.settings.DEFAULT_MAX_OUTPUT_TOKENS;
    const primary = chain.targets[0];
    const id = randomUUID();
    const reservation = await this.budget.reserve({
      requestId: id,
      userId: meteringUser(caller.identity),
      teamId: caller.identity.teamId,
      provider: primary.provider.id,
      model: primary.model,
      agent,
      inputTokens: estimateTokens(messages.map((m) => m.content).join('\n')),
      maxOutputTokens: maxTokens,
    });
    return {
      id,
      requestedModel: command.model,
      caller,
      chain,
      messages,
      maxTokens,
      temperature: command.temperature,
      topP: command.top_p,
      stop,
      agent,
      reservation,
      includeUsage: command.stream_options?.include_usage === true,
    };
  }

  private request(p: PreparedChat) {
    return {
      messages: p.messages,
      maxOutputTokens: p.maxTokens,
      temperature: p.temperature,
      topP: p.topP,
      stop: p.stop,
    };
  }

  /**
   * Records the call: the execution row, UsageRecorded when it used tokens, and for `agent/<slug>`
   * models ExecutionCompleted (command empty: a chat with the agent, not one of its commands) with
   * the conversation and the answer, so feedback-ml scores it like a command's output. The
   * orchestrator ignores it (no run, no idempotency key). Plain provider models are usage only.
   */
  private record(
    p: PreparedChat,
    fields: Partial<ExecutionRecord> & Pick<ExecutionRecord, 'status'>,
    usage: TokenUsage | undefined,
    started: number,
    output?: string,
  ): Promise<boolean> {
    const primary = p.chain.targets[0];
    const agentChat = p.agent !== undefined;
    const record: ExecutionRecord = {
      id: p.id,
      kind: 'chat',
      userId: meteringUser(p.caller.identity),
      teamId: p.caller.identity.teamId,
      via: p.caller.via,
      agent: p.agent,
      provider: primary.provider.id,
      model: primary.model,
      offline: false,
      streamed: false,
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      cachedInputTokens: usage?.cachedInputTokens ?? 0,
      usageEstimated: usage?.estimated ?? false,
      reservationId: usage ? p.reservation.reservationId : undefined,
      durationMs: Math.round(performance.now() - started),
      startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
      completedAt: new Date().toISOString(),
      ...(agentChat ? { prompt: conversationOf(p.messages), output: output ?? '' } : {}),
      ...fields,
    };
    return this.recorder.record({
      record,
      usage: usage !== undefined && (usage.inputTokens > 0 || usage.outputTokens > 0),
      completed: agentChat,
    });
  }

  /** Non-streaming: calls the provider chain and records the usage before answering. */
  async complete(p: PreparedChat): Promise<CompletedChat> {
    const started = performance.now();
    try {
      const result = await p.chain.chat(this.request(p));
      const providerMs = performance.now() - started;
      const recorded = this.record(
        p,
        { status: 'succeeded', provider: result.provider, model: result.model, offline: result.offline },
        result.usage,
        started,
        result.content,
      );
      if (this.recordsBeforeResponse) await recorded;
      else this.inBackground(recorded, p.id);
      return { id: p.id, result, providerMs };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      await this.failed(p, error, started);
      throw providerHttpError(error);
    }
  }

  /** See USAGE_RECORD_BEFORE_RESPONSE: whether callers must wait for the usage record before answering. */
  get recordsBeforeResponse(): boolean {
    return this.settings.USAGE_RECORD_BEFORE_RESPONSE;
  }

  private inBackground(recorded: Promise<unknown>, id: string): void {
    recorded.catch((error: unknown) =>
      this.ctx.logger.error(
        { err: error, executionId: id },
        'the usage record of an answered call could not be written',
      ),
    );
  }

  private async failed(p: PreparedChat, error: ProviderError, started: number): Promise<void> {
    if (p.reservation.reservationId) await this.budget.release(p.reservation.reservationId);
    const f = errorCodeOf(error);
    await this.record(
      p,
      { status: 'failed', errorCode: f.code, errorMessage: f.message, retryable: f.retryable },
      undefined,
      started,
    );
  }

  /**
   * Streaming: the provider's events as they come. When the stream ends (completed, failed, or the
   * client went away and `signal` aborted it) the call is recorded: with the provider's usage, or
   * with usage estimated from the text produced so far; a stream that produced nothing releases its
   * reservation. Throws ApiError when the provider fails before the first event.
   */
  async *stream(
    p: PreparedChat,
    signal: AbortSignal,
    onProviderMs?: (ms: number) => void,
  ): AsyncGenerator<ChatStreamEvent> {
    const started = performance.now();
    let text = '';
    let done: Extract<ChatStreamEvent, { type: 'done' }> | undefined;
    let failure: ProviderError | undefined;
    let yielded = false;
    try {
      for await (const event of p.chain.stream(this.request(p), { signal })) {
        if (event.type === 'delta') text += event.text;
        else done = event;
        yielded = true;
        yield event;
      }
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      failure = error;
      if (!yielded && !signal.aborted) {
        await this.failed(p, error, started);
        throw providerHttpError(error);
      }
    } finally {
      onProviderMs?.(performance.now() - started);
      if (done) {
        await this.record(
          p,
          { status: 'succeeded', provider: done.provider, model: done.model, offline: done.offline, streamed: true },
          done.usage,
          started,
          text,
        );
      } else if (!(failure && !yielded && !signal.aborted)) {
        // The client went away or the stream broke after it started: charge what was produced.
        const produced = text || failure?.extra.partialText || '';
        const code = signal.aborted
          ? 'client_disconnected'
          : failure
            ? errorCodeOf(failure).code
            : 'client_disconnected';
        if (produced) {
          const usage: TokenUsage = {
            inputTokens: estimateTokens(p.messages.map((m) => m.content).join('\n')),
            outputTokens: estimateTokens(produced),
            cachedInputTokens: 0,
            estimated: true,
          };
          await this.record(
            p,
            {
              status: 'failed',
              streamed: true,
              errorCode: code,
              errorMessage: failure?.message ?? 'the client disconnected mid-stream',
            },
            usage,
            started,
            produced,
          );
        } else {
          if (p.reservation.reservationId) await this.budget.release(p.reservation.reservationId);
          await this.record(
            p,
            {
              status: 'failed',
              streamed: true,
              errorCode: code,
              errorMessage: failure?.message ?? 'the client disconnected',
            },
            undefined,
            started,
          );
        }
      }
    }
    if (failure && yielded) throw failure;
  }
}
