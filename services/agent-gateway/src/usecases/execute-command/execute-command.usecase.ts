import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { IsInt, IsObject, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { outputInstructions, parseSections, renderTemplate, TemplateError, type OutputSchema } from '@hishamos/catalog';
import { ApiError, SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import {
  estimateTokens,
  isProviderError,
  ProviderError,
  type ChatMessage,
  type FallbackChain,
} from '@hishamos/providers';
import { CatalogRepository } from '../../catalog/catalog.repository';
import type { CatalogAgent, CatalogCommand } from '../../catalog/catalog.types';
import type { AgentGatewaySettings } from '../../config/agent-gateway.settings';
import { RetrieveContextUseCase } from '../../knowledge/usecases/retrieve-context/retrieve-context.usecase';
import { RoleAgentAccess } from '../../execution/ports/role-agent-access';
import { AGENT_ACCESS, type AgentAccessPort } from '../../ports/gateway-ports';
import { BUDGET, type BudgetPort, type Reservation } from '../../budget/budget.port';
import { ProviderRouter } from '../../providers/provider-router';
import { ExecutionRecorder } from '../../repositories/execution-recorder';
import type { ExecutionRecord } from '../../repositories/execution.repository';
import { meteringUser, type Caller } from '../caller';
import { toValidCommand } from '../valid-command';

const SLUG = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const COMMAND = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const LABEL = /^[a-z][a-z0-9_-]{0,39}$/;

/** Run one command of one agent: which, with what inputs, on which template version and model. */
export class ExecuteCommandCommand {
  @Matches(SLUG, { message: 'agent must be an agent slug such as code-reviewer' })
  agent!: string;

  @Matches(COMMAND, { message: 'command must be a command name such as review_code' })
  command!: string;

  @IsObject()
  inputs!: Record<string, unknown>;

  /** An exact template version; else `label`; else the `production` label. */
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;

  @IsOptional()
  @Matches(LABEL, { message: 'label must be a template label such as production or canary' })
  label?: string;

  /** Overrides the agent's default provider (a configured provider id). */
  @IsOptional()
  @IsString()
  @MaxLength(50)
  provider?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxTokens?: number;

  /** Knowledge-base passages to add to the prompt (0 or absent: none). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(20)
  knowledgeTopK?: number;

  /** Set by the gateway itself (queued and event executions), not by API callers. */
  @IsOptional()
  @IsUUID()
  executionId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(300)
  idempotencyKey?: string;

  @IsOptional()
  @IsString()
  runId?: string;

  @IsOptional()
  @IsString()
  stepId?: string;

  @IsOptional()
  @IsInt()
  attempt?: number;
}

/** A command checked and rendered, ready to run. */
export interface PreparedCommand {
  command: ExecuteCommandCommand;
  caller: Caller;
  agent: CatalogAgent;
  template: CatalogCommand;
  /** The rendered template (without knowledge context or output instructions). */
  rendered: string;
}

/**
 * A prepared command with everything done that comes before the provider call (knowledge context,
 * provider chain, budget reservation, all safe to repeat): what is left is the call and its record.
 */
export interface StagedCommand {
  prepared: PreparedCommand;
  base: ExecutionRecord;
  messages: ChatMessage[];
  chain: FallbackChain;
  maxTokens: number;
  reservation: Reservation;
  started: number;
}

/** Error codes of failed executions (ExecutionCompleted.error_code). */
export function errorCodeOf(error: unknown): { code: string; message: string; retryable: boolean } {
  if (error instanceof ApiError) {
    const code =
      error.status === 403
        ? 'permission_denied'
        : error.status === 404
          ? 'not_found'
          : error.code === 'budget_exceeded'
            ? 'over_budget'
            : error.status === 400 || error.status === 422
              ? 'invalid_input'
              : error.code;
    return { code, message: error.message, retryable: error.status >= 500 };
  }
  if (isProviderError(error)) {
    const code = error.kind === 'timeout' ? 'timeout' : error.kind === 'aborted' ? 'cancelled' : 'provider_error';
    return { code, message: error.message, retryable: error.retryable || error.kind === 'circuit_open' };
  }
  return { code: 'internal_error', message: 'internal error', retryable: true };
}

/** The HTTP answer for a provider failure of a synchronous call. */
export function providerFailure(record: ExecutionRecord): ApiError {
  const status = record.errorCode === 'timeout' ? 504 : 502;
  return new ApiError(
    status,
    record.errorCode === 'timeout' ? 'provider_timeout' : 'provider_error',
    record.errorMessage ?? 'the provider failed',
    {
      reason: record.errorMessage,
      details: { executionId: record.id },
    },
  );
}

function sectionsOf(schema: OutputSchema) {
  return Object.entries(schema.properties).map(([key, s]) => ({ key, title: s.title, description: s.description }));
}

/**
 * Runs one agent command: checks the caller may use the agent, renders the command's template
 * strictly (a missing or unknown input is a 400 naming it), adds knowledge-base context, reserves
 * budget at usage-metering, calls the provider chain (timeouts, retries, circuit breakers, fallback)
 * with the key from the secrets service, then writes the execution, UsageRecorded and
 * ExecutionCompleted in one transaction. A provider failure before any tokens releases the
 * reservation and is recorded as a failed execution.
 */
@Injectable()
export class ExecuteCommandUseCase {
  private readonly access: AgentAccessPort;
  private readonly settings: AgentGatewaySettings;

  constructor(
    @Inject(SERVICE_CONTEXT) ctx: ServiceContext,
    private readonly catalog: CatalogRepository,
    private readonly router: ProviderRouter,
    private readonly recorder: ExecutionRecorder,
    @Inject(BUDGET) private readonly budget: BudgetPort,
    @Optional() @Inject(AGENT_ACCESS) access?: AgentAccessPort,
    @Optional() private readonly knowledge?: RetrieveContextUseCase,
  ) {
    this.access = access ?? new RoleAgentAccess();
    this.settings = settingsOf<AgentGatewaySettings>(ctx);
  }

  /** Checks, renders and runs; throws ApiError for caller errors, returns the (possibly failed) execution. */
  async execute(input: ExecuteCommandCommand, caller: Caller): Promise<ExecutionRecord> {
    const prepared = await this.prepare(input, caller);
    return this.run(prepared);
  }

  /** Everything that can be the caller's fault, checked before anything is reserved or recorded. */
  async prepare(input: ExecuteCommandCommand, caller: Caller): Promise<PreparedCommand> {
    const command = toValidCommand(ExecuteCommandCommand, input);
    const agent = await this.catalog.getAgent(command.agent);
    if (!agent)
      throw new ApiError(404, 'agent_not_found', `no agent ${command.agent}`, { field: 'agent', reason: 'not found' });
    if (!(await this.access.canUseAgent(caller.identity, agent.slug)))
      throw ApiError.forbidden(`you may not use the ${agent.name} (${agent.slug})`, 'forbidden_agent');
    if (!agent.enabled)
      throw new ApiError(409, 'agent_disabled', `the ${agent.slug} agent is disabled`, {
        field: 'agent',
        reason: 'disabled',
      });
    const template = await this.catalog.getCommand(agent.slug, command.command, {
      version: command.version,
      label: command.label,
    });
    if (!template) {
      const exists =
        command.version !== undefined || command.label !== undefined
          ? await this.catalog.getCommand(agent.slug, command.command)
          : undefined;
      if (exists) {
        const which = command.version !== undefined ? `version ${command.version}` : `label ${command.label}`;
        throw new ApiError(404, 'template_version_not_found', `${agent.slug}/${command.command} has no ${which}`, {
          field: command.version !== undefined ? 'version' : 'label',
          reason: 'not found',
        });
      }
      throw new ApiError(404, 'command_not_found', `the ${agent.slug} agent has no command ${command.command}`, {
        field: 'command',
        reason: 'not found',
      });
    }
    if (!template.enabled)
      throw new ApiError(409, 'command_disabled', `${agent.slug}/${command.command} is disabled`, {
        field: 'command',
        reason: 'disabled',
      });
    let rendered: string;
    try {
      rendered = renderTemplate(template.template, command.inputs, template.inputSchema);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      if (error.field === 'template' || error.field === 'input_schema')
        throw new ApiError(
          422,
          'template_invalid',
          `the template of ${agent.slug}/${command.command} v${template.version} cannot be rendered: ${error.reason}`,
          {
            field: error.field,
            reason: error.reason,
          },
        );
      const field = error.field === '(root)' ? 'inputs' : `inputs.${error.field}`;
      throw new ApiError(400, 'invalid_input', `${field}: ${error.reason}`, { field, reason: error.reason });
    }
    return { command, caller, agent, template, rendered };
  }

  /** Runs a prepared command and records it; provider failures come back as a failed execution. */
  async run(prepared: PreparedCommand, queued?: ExecutionRecord): Promise<ExecutionRecord> {
    return this.call(await this.stage(prepared, queued));
  }

  /**
   * What comes before the provider call: knowledge context, the provider chain, the budget
   * reservation (idempotent by execution id). Nothing is recorded, so it may be repeated.
   */
  async stage(prepared: PreparedCommand, queued?: ExecutionRecord): Promise<StagedCommand> {
    const started = Date.now();
    const { command, caller, agent, template } = prepared;
    const id = queued?.id ?? command.executionId ?? randomUUID();
    const base: ExecutionRecord = {
      id,
      kind: 'command',
      status: 'running',
      idempotencyKey: queued?.idempotencyKey ?? command.idempotencyKey,
      userId: meteringUser(caller.identity),
      teamId: caller.identity.teamId,
      via: caller.via,
      agent: agent.slug,
      command: template.name,
      templateVersion: template.version,
      templateSelector: command.version !== undefined ? String(command.version) : (command.label ?? 'production'),
      runId: command.runId,
      stepId: command.stepId,
      attempt: command.attempt,
      offline: false,
      streamed: false,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      usageEstimated: false,
      startedAt: queued?.startedAt ?? new Date(started).toISOString(),
    };

    let prompt = prepared.rendered;
    if (command.knowledgeTopK && this.knowledge) {
      const found = await this.knowledge.execute({
        query: prepared.rendered.slice(0, 4000),
        topK: command.knowledgeTopK,
      });
      if (found.context) {
        prompt += `\n\nContext from the knowledge base (cite passages as [n]):\n\n${found.context}`;
        base.knowledgeSources = found.sources;
      }
    }
    prompt += `\n\n${outputInstructions(template.outputSchema)}`;
    base.prompt = prompt;
    const messages: ChatMessage[] = [
      { role: 'system', content: agent.systemPrompt },
      { role: 'user', content: prompt },
    ];

    const chain = await this.router.chainFor(
      { defaultProvider: agent.defaultProvider, defaultModel: agent.defaultModel },
      { provider: command.provider, model: command.model },
    );
    const primary = chain.targets[0];
    const maxTokens = command.maxTokens ?? this.settings.DEFAULT_MAX_OUTPUT_TOKENS;
    base.provider = primary.provider.id;
    base.model = primary.model;
    const reservation: Reservation = await this.budget.reserve({
      requestId: id,
      userId: base.userId,
      teamId: base.teamId,
      provider: primary.provider.id,
      model: primary.model,
      agent: agent.slug,
      command: template.name,
      inputTokens: estimateTokens(agent.systemPrompt + prompt),
      maxOutputTokens: maxTokens,
    });
    base.reservationId = reservation.reservationId;
    return { prepared, base, messages, chain, maxTokens, reservation, started };
  }

  /**
   * Calls the provider chain once and records the outcome (the recorder retries the write until the
   * database answers, so a paid call is never lost nor recorded twice).
   */
  async call(staged: StagedCommand): Promise<ExecutionRecord> {
    const { base, messages, chain, maxTokens, reservation, started } = staged;
    const { template } = staged.prepared;
    const id = base.id;
    let finished: ExecutionRecord;
    try {
      const result = await chain.chat({
        messages,
        maxOutputTokens: maxTokens,
        outputSections: sectionsOf(template.outputSchema),
      });
      finished = {
        ...base,
        status: 'succeeded',
        provider: result.provider,
        model: result.model,
        offline: result.offline,
        output: result.content,
        sections: parseSections(result.content, template.outputSchema),
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        cachedInputTokens: result.usage.cachedInputTokens,
        usageEstimated: result.usage.estimated ?? false,
        durationMs: Date.now() - started,
        completedAt: new Date().toISOString(),
      };
    } catch (error) {
      if (!(error instanceof ProviderError)) {
        if (reservation.reservationId) await this.budget.release(reservation.reservationId);
        throw error;
      }
      const failure = errorCodeOf(error);
      finished = {
        ...base,
        status: 'failed',
        errorCode: failure.code,
        errorMessage: failure.message,
        retryable: failure.retryable,
        durationMs: Date.now() - started,
        completedAt: new Date().toISOString(),
      };
      // Nothing was produced: give the reservation back (metering never sees usage for it).
      if (reservation.reservationId) await this.budget.release(reservation.reservationId);
      finished.reservationId = undefined;
    }
    const written = await this.recorder.record({
      record: finished,
      usage: finished.status === 'succeeded',
      completed: true,
    });
    if (!written) {
      // Another worker finished it first (a resumed execution): theirs is the result.
      return (await this.recorder.stored(id).catch(() => undefined)) ?? finished;
    }
    return finished;
  }
}
