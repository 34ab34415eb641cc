import type { WorkflowSeed } from '@hishamos/catalog';
import { backoffDelayMs, compileWorkflow, contentHash, shouldRetry, taskDefinition } from './compiled-workflow';

const defaults = { maxAttempts: 3, backoffMs: 1000, attemptTimeoutSeconds: 600, runTimeoutSeconds: 7200 };

const seed: WorkflowSeed = {
  id: 'demo',
  name: 'Demo',
  version: 1,
  description: 'd',
  inputs: { type: 'object', properties: { feature: { type: 'string' } } },
  steps: [
    {
      id: 'a',
      agent: 'coding',
      command: 'write_code',
      inputs: { feature: '${inputs.feature}' },
      retry: { max_attempts: 4, backoff_ms: 200, multiplier: 3, non_retryable: ['quota_exceeded'] },
      timeout: { attempt_seconds: 30 },
    },
    {
      id: 'b',
      type: 'approval',
      depends_on: ['a'],
      approvers: ['operator'],
      prompt: 'ok?',
      timeout_seconds: 60,
      on_timeout: 'escalate',
    },
    { id: 'c', agent: 'qa', command: 'reproduce_bug', depends_on: ['b'], when: "steps.a.output contains 'x'" },
  ],
  timeout_seconds: 900,
};

describe('compileWorkflow', () => {
  it('applies the step policies and the defaults', () => {
    const wf = compileWorkflow(seed, defaults);
    expect(wf.timeoutSeconds).toBe(900);
    const [a, b, c] = wf.steps;
    expect(a).toMatchObject({
      kind: 'agent',
      attemptTimeoutSeconds: 30,
      retry: { maxAttempts: 4, backoffMs: 200, multiplier: 3 },
    });
    expect(a.retry.nonRetryable.has('quota_exceeded')).toBe(true);
    expect(b).toMatchObject({
      kind: 'approval',
      approvers: ['operator'],
      approvalTimeoutSeconds: 60,
      onTimeout: 'escalate',
    });
    expect(c).toMatchObject({ retry: { maxAttempts: 3, backoffMs: 1000, multiplier: 2 }, attemptTimeoutSeconds: 600 });
    expect(c.when).toMatchObject({ kind: 'compare', op: 'contains', literal: 'x' });
    expect(wf.byId.get('b')?.dependsOn).toEqual(['a']);
    expect(compileWorkflow({ ...seed, timeout_seconds: undefined }, defaults).timeoutSeconds).toBe(7200);
  });

  it('waits backoff × multiplier^(n-2) before attempt n, capped', () => {
    const policy = compileWorkflow(seed, defaults).steps[0].retry;
    expect(backoffDelayMs(policy, 2, 60000)).toBe(200);
    expect(backoffDelayMs(policy, 3, 60000)).toBe(600);
    expect(backoffDelayMs(policy, 4, 60000)).toBe(1800);
    expect(backoffDelayMs(policy, 4, 1000)).toBe(1000);
  });

  it('retries retryable failures within the attempts, never the non-retryable codes', () => {
    const step = compileWorkflow(seed, defaults).steps[0];
    expect(shouldRetry(step, 1, { code: 'provider_error', retryable: true })).toBe(true);
    expect(shouldRetry(step, 4, { code: 'provider_error', retryable: true })).toBe(false);
    expect(shouldRetry(step, 1, { code: 'provider_error', retryable: false })).toBe(false);
    expect(shouldRetry(step, 1, { code: 'quota_exceeded', retryable: true })).toBe(false);
    expect(shouldRetry(step, 1, { code: 'permission_denied', retryable: true })).toBe(false);
    expect(shouldRetry(step, 1, { code: 'invalid_input', retryable: true })).toBe(false);
  });
});

describe('contentHash', () => {
  it('ignores key order and the version number, not content', () => {
    const reordered = Object.fromEntries(Object.entries(seed).reverse()) as unknown as WorkflowSeed;
    expect(contentHash(reordered)).toBe(contentHash(seed));
    expect(contentHash({ ...seed, version: 2 })).toBe(contentHash(seed));
    expect(contentHash({ ...seed, description: 'other' })).not.toBe(contentHash(seed));
  });
});

describe('taskDefinition', () => {
  it('is one step whose inputs pass the run inputs through untouched', () => {
    const def = taskDefinition('coding', 'write_code', ['feature', 'language']);
    expect(def.steps).toEqual([
      {
        id: 'task',
        agent: 'coding',
        command: 'write_code',
        inputs: { feature: '${inputs.feature}', language: '${inputs.language}' },
      },
    ]);
    expect(def.name).toBe('coding/write_code');
  });
});
