import { createHash } from 'node:crypto';
import { isApprovalStep, parseCondition, type Condition, type JsonSchema, type WorkflowSeed } from '@hishamos/catalog';

export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  multiplier: number;
  /** Error codes never retried (besides errors the gateway marks non-retryable). */
  nonRetryable: ReadonlySet<string>;
}

export interface CompiledStep {
  id: string;
  position: number;
  kind: 'agent' | 'approval';
  agent?: string;
  command?: string;
  inputs: Record<string, unknown>;
  dependsOn: readonly string[];
  when?: Condition;
  whenText?: string;
  retry: RetryPolicy;
  attemptTimeoutSeconds: number;
  approvers: readonly string[];
  prompt?: string;
  approvalTimeoutSeconds?: number;
  onTimeout: 'fail' | 'escalate';
}

/** A workflow definition version ready to run: defaults applied, conditions parsed, steps indexed. */
export interface CompiledWorkflow {
  id: string;
  name: string;
  version: number;
  description: string;
  inputs: JsonSchema;
  steps: readonly CompiledStep[];
  byId: ReadonlyMap<string, CompiledStep>;
  outputs: Readonly<Record<string, string>>;
  timeoutSeconds: number;
}

export interface StepDefaults {
  maxAttempts: number;
  backoffMs: number;
  attemptTimeoutSeconds: number;
  runTimeoutSeconds: number;
}

/** Error codes a retry cannot fix, whatever the step's policy says. */
export const ALWAYS_NON_RETRYABLE = new Set(['permission_denied', 'invalid_input', 'unknown_agent', 'unknown_command']);

export function compileWorkflow(seed: WorkflowSeed, defaults: StepDefaults): CompiledWorkflow {
  const steps: CompiledStep[] = seed.steps.map((step, position) => {
    const base = {
      id: step.id,
      position,
      dependsOn: step.depends_on ?? [],
      when: step.when ? parseCondition(step.when) : undefined,
      whenText: step.when,
    };
    if (isApprovalStep(step)) {
      return {
        ...base,
        kind: 'approval' as const,
        inputs: {},
        retry: { maxAttempts: 1, backoffMs: 0, multiplier: 1, nonRetryable: new Set<string>() },
        attemptTimeoutSeconds: 0,
        approvers: step.approvers,
        prompt: step.prompt,
        approvalTimeoutSeconds: step.timeout_seconds,
        onTimeout: step.on_timeout ?? 'fail',
      };
    }
    return {
      ...base,
      kind: 'agent' as const,
      agent: step.agent,
      command: step.command,
      inputs: step.inputs ?? {},
      retry: {
        maxAttempts: step.retry?.max_attempts ?? defaults.maxAttempts,
        backoffMs: step.retry?.backoff_ms ?? defaults.backoffMs,
        multiplier: step.retry?.multiplier ?? 2,
        nonRetryable: new Set(step.retry?.non_retryable ?? []),
      },
      attemptTimeoutSeconds: step.timeout?.attempt_seconds ?? defaults.attemptTimeoutSeconds,
      approvers: [],
      onTimeout: 'fail' as const,
    };
  });
  return {
    id: seed.id,
    name: seed.name,
    version: seed.version,
    description: seed.description,
    inputs: seed.inputs,
    steps,
    byId: new Map(steps.map((s) => [s.id, s])),
    outputs: seed.outputs ?? {},
    timeoutSeconds: seed.timeout_seconds ?? defaults.runTimeoutSeconds,
  };
}

/** Delay before attempt `nextAttempt` (2, 3, ...): backoff_ms × multiplier^(nextAttempt-2), capped. */
export function backoffDelayMs(policy: RetryPolicy, nextAttempt: number, maxBackoffMs: number): number {
  const exp = Math.max(0, nextAttempt - 2);
  return Math.min(maxBackoffMs, Math.round(policy.backoffMs * policy.multiplier ** exp));
}

/** Whether a failed attempt is tried again under the step's policy. */
export function shouldRetry(
  step: CompiledStep,
  attempt: number,
  failure: { code: string; retryable: boolean },
): boolean {
  if (!failure.retryable) return false;
  if (ALWAYS_NON_RETRYABLE.has(failure.code) || step.retry.nonRetryable.has(failure.code)) return false;
  return attempt < step.retry.maxAttempts;
}

/** Canonical JSON (sorted keys): equal definitions hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The hash of a definition's content, its version number left out. */
export function contentHash(seed: WorkflowSeed): string {
  const { version: _version, ...rest } = seed;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** The one-step definition of a task (one command of one agent); its inputs are the run's inputs. */
export function taskDefinition(agent: string, command: string, inputNames: string[]): WorkflowSeed {
  return {
    id: 'task',
    name: `${agent}/${command}`,
    version: 1,
    description: `Runs ${agent}/${command} once`,
    inputs: { type: 'object', properties: {} },
    steps: [
      {
        id: 'task',
        agent,
        command,
        // Whole references: the values pass through untouched (no ${...} substitution inside them).
        inputs: Object.fromEntries(inputNames.map((n) => [n, `\${inputs.${n}}`])),
      },
    ],
    outputs: { output: '${steps.task.output}' },
  };
}
