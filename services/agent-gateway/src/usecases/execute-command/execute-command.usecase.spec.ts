import { ApiError, type Identity, type ServiceContext } from '@hishamos/platform';
import { FallbackChain, OfflineProvider, ProviderError, type LlmProvider } from '@hishamos/providers';
import type { CatalogRepository } from '../../catalog/catalog.repository';
import type { CatalogAgent, CatalogCommand } from '../../catalog/catalog.types';
import type { BudgetPort } from '../../budget/budget.port';
import type { AgentAccessPort } from '../../ports/gateway-ports';
import type { ProviderRouter } from '../../providers/provider-router';
import type { ExecutionRecorder, FinishedExecution } from '../../repositories/execution-recorder';
import { ExecuteCommandUseCase } from './execute-command.usecase';

const agent: CatalogAgent = {
  slug: 'code-reviewer',
  name: 'Code Reviewer',
  category: 'engineering',
  systemPrompt: 'Role: Senior Reviewer',
  capabilities: ['review_code'],
  defaultProvider: 'anthropic',
  defaultModel: 'claude-x',
  maxConcurrentTasks: 5,
  enabled: true,
  source: 'seed',
  updatedAt: '2026-01-01T00:00:00Z',
};

const template: CatalogCommand = {
  agent: 'code-reviewer',
  name: 'review_code',
  category: 'dev',
  description: 'Review code',
  difficulty: 3,
  enabled: true,
  template: 'Review this {language} code:\n{code}',
  inputSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['code', 'language'],
    properties: { code: { type: 'string', minLength: 1 }, language: { type: 'string' } },
  },
  outputSchema: {
    type: 'object',
    properties: { verdict: { title: 'Verdict', description: 'approve or not' } },
  },
  version: 3,
  versionId: 'v3',
  labels: ['production'],
  source: 'seed',
};

const member: Identity = { kind: 'user', subject: 'u-1', roles: ['member'], via: 'api_key' };

function setup(provider: LlmProvider = new OfflineProvider('anthropic')) {
  const catalog = { getAgent: jest.fn(async () => agent), getCommand: jest.fn(async () => template) };
  const router = { chainFor: jest.fn(async () => new FallbackChain([{ provider, model: 'claude-x' }])) };
  const recorded: FinishedExecution[] = [];
  const recorder = {
    record: jest.fn(async (item: FinishedExecution) => {
      recorded.push(item);
      return true;
    }),
    stored: jest.fn(),
  };
  const access = {
    canUseAgent: jest.fn<Promise<boolean>, Parameters<AgentAccessPort['canUseAgent']>>(async () => true),
  };
  const budget = {
    reserve: jest.fn<ReturnType<BudgetPort['reserve']>, Parameters<BudgetPort['reserve']>>(async () => ({
      reservationId: 'r-1',
      amountUsd: '0.01',
      metered: true,
    })),
    release: jest.fn<Promise<void>, Parameters<BudgetPort['release']>>(async () => undefined),
  };
  const ctx = { settings: { DEFAULT_MAX_OUTPUT_TOKENS: 1000 } } as unknown as ServiceContext;
  const useCase = new ExecuteCommandUseCase(
    ctx,
    catalog as unknown as CatalogRepository,
    router as unknown as ProviderRouter,
    recorder as unknown as ExecutionRecorder,
    budget,
    access,
  );
  return { useCase, catalog, router, recorder, recorded, access, budget };
}

const input = { agent: 'code-reviewer', command: 'review_code', inputs: { code: 'x = 1', language: 'Python' } };

describe('ExecuteCommandUseCase', () => {
  it('renders the template, reserves, calls the provider and records execution, usage and completion together', async () => {
    const { useCase, recorded, budget } = setup();
    const result = await useCase.execute(input, { identity: member, via: 'api_key' });
    expect(result).toMatchObject({
      status: 'succeeded',
      agent: 'code-reviewer',
      command: 'review_code',
      templateVersion: 3,
      offline: true,
      reservationId: 'r-1',
    });
    expect(result.prompt).toContain('Review this Python code:\nx = 1');
    expect(result.prompt).toContain('## Verdict — approve or not');
    expect(Object.keys(result.sections ?? {})).toEqual(['verdict']);
    expect(budget.reserve).toHaveBeenCalledWith(
      expect.objectContaining({
        requestId: result.id,
        userId: 'u-1',
        provider: 'anthropic',
        model: 'claude-x',
        agent: 'code-reviewer',
        maxOutputTokens: 1000,
      }),
    );
    expect(recorded).toEqual([expect.objectContaining({ usage: true, completed: true })]);
    expect(budget.release).not.toHaveBeenCalled();
  });

  it('refuses a forbidden agent before reserving anything', async () => {
    const { useCase, access, budget, recorder } = setup();
    access.canUseAgent.mockResolvedValue(false);
    await expect(useCase.execute(input, { identity: member, via: 'api_key' })).rejects.toMatchObject({
      status: 403,
      code: 'forbidden_agent',
    });
    expect(budget.reserve).not.toHaveBeenCalled();
    expect(recorder.record).not.toHaveBeenCalled();
  });

  it('names a missing or unknown template variable (400) and records nothing', async () => {
    const { useCase, budget, recorder } = setup();
    await expect(
      useCase.execute({ ...input, inputs: { code: 'x' } }, { identity: member, via: 'api_key' }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'invalid_input',
      extra: { field: 'inputs.language', reason: 'required input is missing' },
    });
    await expect(
      useCase.execute({ ...input, inputs: { ...input.inputs, extra: 1 } }, { identity: member, via: 'api_key' }),
    ).rejects.toMatchObject({ status: 400, extra: { field: 'inputs.extra' } });
    expect(budget.reserve).not.toHaveBeenCalled();
    expect(recorder.record).not.toHaveBeenCalled();
  });

  it('answers an unknown agent, command or version with 404 naming the field', async () => {
    const { useCase, catalog } = setup();
    catalog.getAgent.mockResolvedValueOnce(undefined as unknown as CatalogAgent);
    await expect(useCase.execute(input, { identity: member, via: 'api_key' })).rejects.toMatchObject({
      status: 404,
      extra: { field: 'agent' },
    });
    catalog.getCommand.mockResolvedValueOnce(undefined as unknown as CatalogCommand);
    await expect(useCase.execute(input, { identity: member, via: 'api_key' })).rejects.toMatchObject({
      status: 404,
      code: 'command_not_found',
    });
    catalog.getCommand.mockResolvedValueOnce(undefined as unknown as CatalogCommand).mockResolvedValueOnce(template);
    await expect(useCase.execute({ ...input, version: 9 }, { identity: member, via: 'api_key' })).rejects.toMatchObject(
      {
        status: 404,
        code: 'template_version_not_found',
        extra: { field: 'version' },
      },
    );
  });

  it('lets an over-budget refusal through untouched (nothing called, nothing recorded)', async () => {
    const { useCase, budget, recorder } = setup();
    budget.reserve.mockRejectedValue(new ApiError(429, 'budget_exceeded', 'over budget'));
    await expect(useCase.execute(input, { identity: member, via: 'api_key' })).rejects.toMatchObject({ status: 429 });
    expect(recorder.record).not.toHaveBeenCalled();
  });

  it('releases the reservation and records a failed execution when the provider fails before any tokens', async () => {
    const failing: LlmProvider = {
      ...new OfflineProvider('anthropic'),
      id: 'anthropic',
      kind: 'anthropic',
      offline: false,
      chat: async () => {
        throw new ProviderError('anthropic', 'server_error', 'anthropic answered 503');
      },
      stream: () => {
        throw new Error('unused');
      },
      listModels: async () => [],
    };
    const { useCase, budget, recorded } = setup(failing);
    const result = await useCase.execute(input, { identity: member, via: 'api_key' });
    expect(result).toMatchObject({
      status: 'failed',
      errorCode: 'provider_error',
      retryable: true,
      reservationId: undefined,
    });
    expect(budget.release).toHaveBeenCalledWith('r-1');
    expect(recorded).toEqual([expect.objectContaining({ usage: false, completed: true })]);
  });
});
