import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  CE_SPECVERSION,
  decodeEvent,
  encodeEvent,
  ExecutionStatus,
  Topics,
  WorkflowEventKind,
  dlqTopic,
  eventType,
} from '@hishamos/contracts';
import { transactionWithHooks } from '@hishamos/messaging';
import { startTracing, type RunningService } from '@hishamos/platform';
import { RecordExecutionResultUseCase } from '../src/usecases/record-execution-result/record-execution-result.usecase';
import { waitFor } from '@hishamos/testing';
import { Api, OrchestratorEnv, SEEDS, admin, alice, bob, traceIdOf, viewer } from './fixtures/orchestrator-env';

jest.setTimeout(120000);

type Run = {
  id: string;
  status: string;
  error: string | null;
  errorStep: string | null;
  outputs: Record<string, unknown> | null;
  workflow: { id: string; name: string; version: number };
  usage: { inputTokens: number; outputTokens: number };
  steps: {
    id: string;
    status: string;
    attempt: number;
    error: { code: string; message: string } | null;
    inputs: Record<string, unknown> | null;
    output: string | null;
    detail: string | null;
    approval?: { decidedBy: string | null; decision: string | null; escalated: boolean };
  }[];
};
type ApiErrorBody = { error: { status: number; code: string; message: string; field?: string; reason?: string } };

const featureInputs = {
  type: 'object',
  required: ['feature'],
  properties: { feature: { type: 'string', minLength: 1 } },
};
const stories = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  agent: 'business-analyst',
  command: 'write_user_stories',
  inputs: { feature: '${inputs.feature}' },
  ...extra,
});
const workflow = (id: string, steps: unknown[], extra: Record<string, unknown> = {}) => ({
  id,
  name: `Test ${id}`,
  version: 1,
  description: `Test workflow ${id}`,
  inputs: featureInputs,
  steps,
  ...extra,
});

const incidentInputs = {
  service: 'checkout-api',
  platform: 'Kubernetes with Helm',
  symptoms: '5xx rate at 12% since 14:02 UTC',
  logs: 'ERROR pool exhausted at 14:02:11',
  telemetry: 'p99 2.4 s, error rate 12%',
  objectives: '99.9% availability, p99 < 500 ms',
  time_window: '14:00-14:30 UTC',
  deployed_version: 'v2.31.0',
  last_good_version: 'v2.30.4',
  environment: 'Node.js services on GKE, internet-facing',
  assets: 'payment tokens, customer PII',
  customer_reports: 'Customers cannot pay since 14:05',
};

describe('orchestrator workflows on Kafka and Postgres', () => {
  const env = new OrchestratorEnv();
  let url: string;
  let svc: RunningService;
  let api: Api;
  let asAdmin: Api;
  const spans = new InMemorySpanExporter();

  const run = async (id: string, as: Api = api): Promise<Run> => (await as.get<Run>(`/v1/runs/${id}`)).body;
  const untilStatus = (id: string, status: string, timeoutMs = 30000) =>
    waitFor(
      async () => {
        const r = await run(id, asAdmin);
        return r.status === status ? r : undefined;
      },
      { timeoutMs, what: `run ${id} ${status}` },
    );
  const untilStep = (id: string, step: string, status: string) =>
    waitFor(
      async () => {
        const r = await run(id, asAdmin);
        return r.steps.find((s) => s.id === step)?.status === status ? r : undefined;
      },
      { timeoutMs: 30000, what: `step ${step} of ${id} ${status}` },
    );
  const register = async (def: unknown, as: Api = asAdmin) =>
    as.post<Record<string, unknown>>('/v1/workflows', { definition: def });
  const start = async (wf: string, inputs: Record<string, unknown>, as: Api = api) => {
    const r = await as.post<Run>(`/v1/workflows/${wf}/runs`, { inputs });
    expect(r.status).toBe(202);
    return r.body;
  };

  beforeAll(async () => {
    // Before the platform starts: its own startTracing call then keeps this (in-memory) exporter.
    await startTracing('orchestrator', { spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
    await env.setup('wf');
    svc = await env.startInProcess({ ORCHESTRATOR_ABANDONED_SLOT_SECONDS: '1' });
    url = svc.url;
    api = new Api(url).as(alice);
    asAdmin = new Api(url).as(admin);
  });
  afterAll(() => env.teardown());

  it('publishes the workflow JSON Schema and loads the six templates from seeds/workflows', async () => {
    const schema = await asAdmin.get('/v1/workflows/schema');
    expect(schema.status).toBe(200);
    expect(schema.body).toEqual(JSON.parse(readFileSync(join(SEEDS, 'workflow.schema.json'), 'utf8')));
    const list = await api.get<{ workflows: { id: string; version: number; steps: unknown[] }[] }>('/v1/workflows');
    expect(list.body.workflows.map((w) => w.id).sort()).toEqual([
      'contract-review',
      'customer-escalation',
      'feature-delivery',
      'hiring',
      'incident-response',
      'release',
    ]);
    const byName = await api.get<{ id: string; versions: unknown[] }>('/v1/workflows/Incident%20response');
    expect(byName.body.id).toBe('incident-response');
  });

  it('runs a six-step DAG (fan-out, fan-in, condition) with outputs flowing between steps', async () => {
    env.executor.script = (req) =>
      req.stepId === 'health'
        ? { delayMs: 300, sections: { verdict: 'Service is DEGRADED: error budget burning' } }
        : { delayMs: req.stepId === 'logs' ? 300 : 30 };
    const created = await start('incident-response', incidentInputs);
    expect(created.status).toBe('queued');
    const done = await untilStatus(created.id, 'succeeded');
    expect(done.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([
      ['logs', 'succeeded', 1],
      ['health', 'succeeded', 1],
      ['threat', 'succeeded', 1],
      ['rollback', 'succeeded', 1],
      ['customer_comms', 'succeeded', 1],
      ['status_report', 'succeeded', 1],
    ]);
    const requests = env.executor.executions().filter((e) => e.request.runId === created.id);
    expect(requests).toHaveLength(6);
    expect(requests.every((e) => e.executions === 1 && e.request.attempt === 1)).toBe(true);
    const inputsOf = (step: string) =>
      requests.find((e) => e.request.stepId === step)!.request.inputs as Record<string, string>;
    // Fan-in: threat reads both parallel analyses; the condition saw health's verdict; outputs flow on.
    expect(inputsOf('threat').threat).toContain('summary of logs (devops/check_logs)');
    expect(inputsOf('threat').threat).toContain('anomalies of health (devops/check_health)');
    expect(inputsOf('rollback').symptoms).toContain('Service is DEGRADED');
    expect(inputsOf('status_report').updates).toContain('assessment of rollback (devops/rollback)');
    expect(inputsOf('status_report').updates).toContain('follow_up of customer_comms');
    expect(inputsOf('logs').service).toBe('checkout-api');
    // Fan-out: logs and health ran at the same time.
    const logs = requests.find((e) => e.request.stepId === 'logs')!;
    const health = requests.find((e) => e.request.stepId === 'health')!;
    expect(logs.startedAt).toBeLessThan(health.finishedAt!);
    expect(health.startedAt).toBeLessThan(logs.finishedAt!);
    expect(done.outputs).toMatchObject({
      customer_reply: 'reply of customer_comms (customer-success/answer_ticket)',
    });
    expect(String(done.outputs!.status_report)).toContain('## ');
    expect(done.usage).toEqual({ inputTokens: 600, outputTokens: 300 });
    const events = await env.events.waitFor(created.id, WorkflowEventKind.COMPLETED);
    expect(events.workflowName).toBe('Incident response');
    expect(env.events.count(created.id, WorkflowEventKind.STEP_SUCCEEDED)).toBe(6);
    expect(env.events.kinds(created.id)[0]).toBe('STARTED');

    // The same workflow with a healthy verdict skips the rollback and still reports.
    env.executor.script = (req) => (req.stepId === 'health' ? { sections: { verdict: 'healthy' } } : {});
    const healthy = await untilStatus((await start('incident-response', incidentInputs)).id, 'succeeded');
    expect(healthy.steps.find((s) => s.id === 'rollback')).toMatchObject({ status: 'skipped', attempt: 0 });
    expect(healthy.steps.find((s) => s.id === 'rollback')!.detail).toContain('condition is false');
    expect(healthy.steps.find((s) => s.id === 'status_report')!.status).toBe('succeeded');
    expect(healthy.outputs!.rollback_plan).toBeUndefined();
    await env.events.waitFor(healthy.id, WorkflowEventKind.STEP_SKIPPED);
  });

  it('retries a step that fails twice, with backoff, then succeeds', async () => {
    const def = workflow('retry-twice', [
      stories('flaky', {
        retry: { max_attempts: 3, backoff_ms: 300, multiplier: 2, non_retryable: ['invalid_input'] },
      }),
    ]);
    expect((await register(def)).status).toBe(201);
    env.executor.script = (_req, attempt) =>
      attempt <= 2 ? { fail: { code: 'provider_error', retryable: true } } : {};
    const created = await start('retry-twice', { feature: 'login' });
    const done = await untilStatus(created.id, 'succeeded');
    expect(done.steps[0]).toMatchObject({ status: 'succeeded', attempt: 3 });
    const attempts = env.executor
      .executions()
      .filter((e) => e.request.runId === created.id)
      .sort((a, b) => a.request.attempt - b.request.attempt);
    expect(attempts.map((a) => a.request.attempt)).toEqual([1, 2, 3]);
    expect(new Set(attempts.map((a) => a.request.idempotencyKey)).size).toBe(3);
    // Backoff: 300 ms before attempt 2, 600 ms before attempt 3 (lower bounds, not speed).
    expect(attempts[1].startedAt - attempts[0].finishedAt!).toBeGreaterThanOrEqual(300);
    expect(attempts[2].startedAt - attempts[1].finishedAt!).toBeGreaterThanOrEqual(600);
    await env.events.waitFor(created.id, WorkflowEventKind.COMPLETED);
    const retrying = env.events.of(created.id).filter((e) => e.kind === WorkflowEventKind.STEP_RETRYING);
    expect(retrying.map((e) => e.attempt)).toEqual([1, 2]);
    expect(retrying[0].error).toContain('provider_error');
  });

  it('fails the run at once on a non-retryable error, naming the step and the reason', async () => {
    env.executor.script = () => ({
      fail: { code: 'permission_denied', message: 'u-alice may not use legal', retryable: false },
    });
    const created = await start('retry-twice', { feature: 'contracts' });
    const failed = await untilStatus(created.id, 'failed');
    expect(failed.errorStep).toBe('flaky');
    expect(failed.error).toBe('step flaky failed: permission_denied: u-alice may not use legal');
    expect(failed.steps[0]).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'permission_denied' } });
    const event = await env.events.waitFor(created.id, WorkflowEventKind.FAILED);
    expect(event).toMatchObject({ workflowName: 'Test retry-twice', stepId: 'flaky', error: failed.error });

    // A code the step lists as non_retryable is not retried even when the gateway says it could be.
    env.executor.script = () => ({ fail: { code: 'invalid_input', retryable: true } });
    const second = await untilStatus((await start('retry-twice', { feature: 'x' })).id, 'failed');
    expect(second.steps[0].attempt).toBe(1);
    // Retries exhausted: the error says how many attempts were made.
    env.executor.script = () => ({ fail: { code: 'provider_error', retryable: true } });
    const third = await untilStatus((await start('retry-twice', { feature: 'y' })).id, 'failed', 30000);
    expect(third.error).toBe('step flaky failed (after 3 attempts): provider_error: provider_error (scripted)');
  });

  it('pauses at an approval step, resumes on approval and fails on rejection', async () => {
    env.executor.script = () => ({});
    const def = workflow('with-approval', [
      stories('draft'),
      { id: 'sign_off', type: 'approval', depends_on: ['draft'], approvers: ['u-carol'], prompt: 'Ship the stories?' },
      {
        id: 'check',
        agent: 'qa',
        command: 'reproduce_bug',
        inputs: { report: '${steps.draft.sections.stories}' },
        depends_on: ['sign_off'],
      },
    ]);
    expect((await register(def)).status).toBe(201);
    const first = await start('with-approval', { feature: 'export' });
    await untilStep(first.id, 'sign_off', 'waiting_approval');
    const waiting = await env.events.waitFor(first.id, WorkflowEventKind.STEP_WAITING_APPROVAL);
    expect(waiting.detail).toBe('Ship the stories?');
    expect((await run(first.id)).steps[2].status).toBe('pending');
    // The requester is not an approver; another member cannot even see the run; the listed user may decide.
    const denied = await api.post<ApiErrorBody>(`/v1/runs/${first.id}/steps/sign_off/approve`, {});
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden_approver');
    expect((await new Api(url).as(bob).post(`/v1/runs/${first.id}/steps/sign_off/approve`, {})).status).toBe(404);
    const carol = new Api(url).as({ kind: 'user', subject: 'u-carol', roles: ['member'], via: 'api_key' });
    const ok = await carol.post(`/v1/runs/${first.id}/steps/sign_off/approve`, { comment: 'looks right' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ decision: 'approved' });
    const done = await untilStatus(first.id, 'succeeded');
    expect(done.steps[1]).toMatchObject({
      status: 'succeeded',
      approval: { decidedBy: 'u-carol', decision: 'approved' },
    });
    expect(
      env.executor.executions().find((e) => e.request.runId === first.id && e.request.stepId === 'check')!.request
        .inputs,
    ).toEqual({
      report: 'stories of draft (business-analyst/write_user_stories)',
    });
    // Deciding twice is a conflict.
    expect((await asAdmin.post<ApiErrorBody>(`/v1/runs/${first.id}/steps/sign_off/reject`, {})).body.error.code).toBe(
      'not_waiting',
    );

    const second = await start('with-approval', { feature: 'import' });
    await untilStep(second.id, 'sign_off', 'waiting_approval');
    const rejected = await asAdmin.post(`/v1/runs/${second.id}/steps/sign_off/reject`, { comment: 'not now' });
    expect(rejected.status).toBe(200);
    const failed = await untilStatus(second.id, 'failed');
    expect(failed.error).toBe('step sign_off rejected by u-admin: not now');
    expect(failed.steps[2].status).toBe('cancelled');
    expect(env.executor.executions().some((e) => e.request.runId === second.id && e.request.stepId === 'check')).toBe(
      false,
    );
    const event = await env.events.waitFor(second.id, WorkflowEventKind.FAILED);
    expect(event.error).toContain('rejected by u-admin');
  });

  it('fires timeouts: attempt (then retries), approval (fail and escalate), whole run', async () => {
    // Attempt timeout: attempt 1 never answers, attempt 2 does.
    const attemptDef = workflow('attempt-timeout', [
      stories('slow', { retry: { max_attempts: 2, backoff_ms: 0 }, timeout: { attempt_seconds: 1 } }),
    ]);
    expect((await register(attemptDef)).status).toBe(201);
    env.executor.script = (_req, attempt) => (attempt === 1 ? { hang: true } : {});
    const a = await start('attempt-timeout', { feature: 'slow' });
    const aDone = await untilStatus(a.id, 'succeeded');
    expect(aDone.steps[0].attempt).toBe(2);
    const retry = await env.events.waitFor(a.id, WorkflowEventKind.STEP_RETRYING);
    expect(retry.error).toBe('timeout: attempt 1 timed out after 1 s');

    // Approval timeouts.
    env.executor.script = () => ({});
    const approvalDef = (id: string, onTimeout: string) =>
      workflow(id, [
        stories('draft'),
        {
          id: 'gate',
          type: 'approval',
          depends_on: ['draft'],
          approvers: ['operator'],
          prompt: 'Go?',
          timeout_seconds: 1,
          on_timeout: onTimeout,
        },
      ]);
    expect((await register(approvalDef('approval-fails', 'fail'))).status).toBe(201);
    expect((await register(approvalDef('approval-escalates', 'escalate'))).status).toBe(201);
    const f = await start('approval-fails', { feature: 'x' });
    const e = await start('approval-escalates', { feature: 'y' });
    const fFailed = await untilStatus(f.id, 'failed');
    expect(fFailed.error).toBe('step gate failed: approval_timeout: no decision within 1 s');
    const escalated = await untilStep(e.id, 'gate', 'waiting_approval');
    await waitFor(async () => (await run(e.id, asAdmin)).steps[1].approval?.escalated === true, { what: 'escalation' });
    expect(escalated.status).toBe('running');
    expect(
      env.events.of(e.id).filter((x) => x.kind === WorkflowEventKind.STEP_WAITING_APPROVAL).length,
    ).toBeGreaterThanOrEqual(1);
    const eFailed = await untilStatus(e.id, 'failed');
    expect(eFailed.error).toBe('step gate failed: approval_timeout: no decision within 1 s (after escalation)');
    expect(env.events.of(e.id).filter((x) => x.kind === WorkflowEventKind.STEP_WAITING_APPROVAL)).toHaveLength(2);

    // Whole-run timeout: the step takes longer than the workflow may.
    const runDef = workflow('run-timeout', [stories('long', { timeout: { attempt_seconds: 60 } })], {
      timeout_seconds: 1,
    });
    expect((await register(runDef)).status).toBe(201);
    env.executor.script = () => ({ delayMs: 3000 });
    const r = await start('run-timeout', { feature: 'z' });
    const rFailed = await untilStatus(r.id, 'failed');
    expect(rFailed.error).toBe('workflow Test run-timeout timed out after 1 s');
    expect(rFailed.steps[0].status).toBe('cancelled');
    const failedEvent = await env.events.waitFor(r.id, WorkflowEventKind.FAILED);
    expect(failedEvent.workflowName).toBe('Test run-timeout');
    // The late result arrives and changes nothing.
    await waitFor(() => env.executor.executions().find((x) => x.request.runId === r.id)?.finishedAt, {
      timeoutMs: 10000,
    });
    await new Promise((res) => setTimeout(res, 500));
    expect((await run(r.id, asAdmin)).status).toBe('failed');
  });

  it('cancels a run: queued steps never start, the running one is told, its late result is ignored', async () => {
    env.executor.script = () => ({ delayMs: 1500 });
    const def = workflow('cancel-me', [stories('first'), stories('second', { depends_on: ['first'] })]);
    expect((await register(def)).status).toBe(201);
    const created = await start('cancel-me', { feature: 'x' });
    await untilStep(created.id, 'first', 'running');
    expect((await new Api(url).as(bob).post(`/v1/runs/${created.id}/cancel`, {})).status).toBe(404);
    const cancelled = await api.post(`/v1/runs/${created.id}/cancel`, { reason: 'changed my mind' });
    expect(cancelled.status).toBe(200);
    const r = await untilStatus(created.id, 'cancelled');
    expect(r.error).toBe('cancelled by u-alice: changed my mind');
    expect(r.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    const event = await env.events.waitFor(created.id, WorkflowEventKind.CANCELLED);
    expect(event.detail).toBe('cancelled by u-alice: changed my mind');
    await waitFor(() => env.executor.executions().find((x) => x.request.runId === created.id)?.finishedAt, {
      timeoutMs: 10000,
    });
    await new Promise((res) => setTimeout(res, 500));
    expect((await run(created.id)).status).toBe('cancelled');
    expect(env.executor.executions().filter((x) => x.request.runId === created.id)).toHaveLength(1);
    expect((await api.post<ApiErrorBody>(`/v1/runs/${created.id}/cancel`, {})).body.error.code).toBe('run_finished');
  });

  it('keeps a running workflow on the version it started with', async () => {
    env.executor.script = () => ({});
    const v1 = workflow('versioned', [
      stories('draft'),
      { id: 'gate', type: 'approval', depends_on: ['draft'], approvers: ['admin'], prompt: 'Continue?' },
      stories('after_v1', { depends_on: ['gate'] }),
    ]);
    expect((await register(v1)).body).toMatchObject({ version: 1, created: true });
    expect((await register(v1)).body).toMatchObject({ version: 1, created: false });
    const old = await start('versioned', { feature: 'x' });
    await untilStep(old.id, 'gate', 'waiting_approval');
    const v2 = { ...v1, version: undefined, steps: [stories('only_v2')] };
    const registered = await register(v2);
    expect(registered.body).toMatchObject({ version: 2, created: true });
    const stale = await register({ ...v1, version: 2, description: 'changed' });
    expect(stale.status).toBe(409);
    const fresh = await untilStatus((await start('versioned', { feature: 'y' })).id, 'succeeded');
    expect(fresh.workflow.version).toBe(2);
    expect(fresh.steps.map((s) => s.id)).toEqual(['only_v2']);
    expect((await asAdmin.post(`/v1/runs/${old.id}/steps/gate/approve`, {})).status).toBe(200);
    const finished = await untilStatus(old.id, 'succeeded');
    expect(finished.workflow.version).toBe(1);
    expect(finished.steps.map((s) => s.id)).toEqual(['draft', 'gate', 'after_v1']);
    const shown = await api.get<{ version: number; versions: { version: number }[] }>('/v1/workflows/versioned');
    expect(shown.body.version).toBe(2);
    expect(shown.body.versions.map((v) => v.version)).toEqual([2, 1]);
    const pinned = await api.post<Run>('/v1/workflows/versioned/runs', { inputs: { feature: 'z' }, version: 1 });
    expect(pinned.body.workflow.version).toBe(1);
    await asAdmin.post(`/v1/runs/${pinned.body.id}/cancel`, {});
  });

  it('rejects bad definitions and bad requests with the reason, creating nothing', async () => {
    const before = (await asAdmin.get<{ runs: unknown[] }>('/v1/runs?limit=200')).body.runs.length;
    const cyclic = workflow('cyclic', [
      stories('a', { depends_on: ['c'] }),
      stories('b', { depends_on: ['a'] }),
      stories('c', { depends_on: ['b'] }),
    ]);
    const c = await register(cyclic);
    expect(c.status).toBe(400);
    expect(c.body).toMatchObject({ error: { code: 'invalid_workflow', field: 'steps.a.depends_on' } });
    expect((c.body as ApiErrorBody).error.message).toContain('depends_on forms a cycle: a -> c -> b -> a');
    expect((await asAdmin.get('/v1/workflows/cyclic')).status).toBe(404);

    const unknownAgent = await register(workflow('ghost', [{ id: 'x', agent: 'astrologer', command: 'predict' }]));
    expect(unknownAgent.body).toMatchObject({ error: { field: 'steps.x.agent' } });
    expect((unknownAgent.body as ApiErrorBody).error.message).toBe('steps.x.agent: unknown agent "astrologer"');
    const unknownCommand = await register(workflow('ghost2', [{ id: 'x', agent: 'coding', command: 'sing' }]));
    expect((unknownCommand.body as ApiErrorBody).error.message).toBe(
      'steps.x.command: agent "coding" has no command "sing"',
    );
    const missingInput = await register(
      workflow('ghost3', [{ id: 'x', agent: 'coding', command: 'write_code', inputs: { feature: 'f' } }]),
    );
    expect((missingInput.body as ApiErrorBody).error.message).toContain(
      'steps.x.inputs: required input "language" of coding/write_code is not provided',
    );
    const badShape = await register(workflow('ghost4', [stories('x', { retry: { max_attempts: 0 } })]));
    expect(badShape.body).toMatchObject({ error: { field: 'steps.x.retry.max_attempts' } });
    const yaml = await asAdmin.post<ApiErrorBody>('/v1/workflows', { yaml: 'id: [unclosed' });
    expect(yaml.body.error.code).toBe('invalid_workflow');
    expect(yaml.body.error.message).toContain('YAML syntax error');
    expect((await api.post('/v1/workflows', { definition: workflow('by-member', [stories('a')]) })).status).toBe(403);

    const unknownTaskAgent = await api.post<ApiErrorBody>('/v1/tasks', {
      agent: 'astrologer',
      command: 'predict',
      inputs: {},
    });
    expect(unknownTaskAgent.status).toBe(400);
    expect(unknownTaskAgent.body.error).toMatchObject({ code: 'unknown_agent', field: 'agent' });
    const unknownTaskCommand = await api.post<ApiErrorBody>('/v1/tasks', {
      agent: 'coding',
      command: 'sing',
      inputs: {},
    });
    expect(unknownTaskCommand.body.error).toMatchObject({ code: 'unknown_command', field: 'command' });
    const missingTaskInput = await api.post<ApiErrorBody>('/v1/tasks', {
      agent: 'coding',
      command: 'write_code',
      inputs: { feature: 'f' },
    });
    expect(missingTaskInput.body.error).toMatchObject({
      code: 'invalid_input',
      field: 'inputs.language',
      message: 'inputs.language: is required but missing',
    });
    const extraInput = await api.post<ApiErrorBody>('/v1/tasks', {
      agent: 'coding',
      command: 'write_code',
      inputs: { feature: 'f', language: 'Go', colour: 'blue' },
    });
    expect(extraInput.body.error).toMatchObject({ field: 'inputs.colour' });
    const missingRunInput = await api.post<ApiErrorBody>('/v1/workflows/incident-response/runs', { inputs: {} });
    expect(missingRunInput.body.error).toMatchObject({ code: 'invalid_input', field: 'inputs.service' });
    const unknownWorkflow = await api.post<ApiErrorBody>('/v1/workflows/nope/runs', { inputs: {} });
    expect(unknownWorkflow.status).toBe(404);
    expect((await new Api(url).as(viewer).post('/v1/tasks', { agent: 'coding', command: 'write_code' })).status).toBe(
      403,
    );
    expect((await fetch(`${url}/v1/tasks`, { method: 'POST' })).status).toBe(401);
    const after = (await asAdmin.get<{ runs: unknown[] }>('/v1/runs?limit=200')).body.runs.length;
    expect(after).toBe(before);
  });

  it('takes tasks from the task-requested topic: idempotent by source and id, invalid events to the DLQ with the reason', async () => {
    env.executor.script = () => ({});
    const valid = {
      requestedBy: 'svc-billing',
      agent: 'business-analyst',
      command: 'write_user_stories',
      inputs: { feature: 'invoices by email' },
      taskId: 'billing-42',
    };
    const id = randomUUID();
    // The same event delivered twice starts one run.
    await env.bus.publish(Topics.TaskRequested, valid, { key: 'svc-billing', id });
    await env.bus.publish(Topics.TaskRequested, valid, { key: 'svc-billing', id });
    // Invalid ones: no user, an unknown agent, a missing input, a workflow that does not exist, undecodable bytes.
    await env.bus.publish(Topics.TaskRequested, { ...valid, requestedBy: '' }, { key: 'svc-billing' });
    await env.bus.publish(Topics.TaskRequested, { ...valid, agent: 'astrologer' }, { key: 'svc-billing' });
    await env.bus.publish(Topics.TaskRequested, { ...valid, inputs: {} }, { key: 'svc-billing' });
    await env.bus.publish(
      Topics.TaskRequested,
      { requestedBy: 'svc-billing', workflow: 'nope' },
      { key: 'svc-billing' },
    );
    const kafka = new Kafka({ brokers: env.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: `${env.prefix}.${Topics.TaskRequested}`,
      messages: [
        {
          key: 'svc-billing',
          value: Buffer.from('{not json'),
          headers: {
            ce_id: randomUUID(),
            ce_source: 'external',
            ce_type: eventType(Topics.TaskRequested),
            ce_specversion: CE_SPECVERSION,
            'content-type': 'application/json',
          },
        },
      ],
    });
    // A JSON CloudEvent from another team's service works too, behind the bad ones on the same key.
    const jsonId = randomUUID();
    await producer.send({
      topic: `${env.prefix}.${Topics.TaskRequested}`,
      messages: [
        {
          key: 'svc-billing',
          value: Buffer.from(JSON.stringify({ ...valid, taskId: 'billing-43' })),
          headers: {
            ce_id: jsonId,
            ce_source: 'external',
            ce_type: eventType(Topics.TaskRequested),
            ce_specversion: CE_SPECVERSION,
            'content-type': 'application/json',
          },
        },
      ],
    });
    await producer.disconnect();
    const runs = await waitFor(
      async () => {
        const r = await asAdmin.get<{ runs: { id: string; taskId: string; status: string }[] }>(
          '/v1/runs?user=svc-billing',
        );
        return r.body.runs.length >= 2 && r.body.runs.every((x) => x.status === 'succeeded') ? r.body.runs : undefined;
      },
      { timeoutMs: 30000, what: 'two runs from events' },
    );
    expect(runs.map((r) => r.taskId).sort()).toEqual(['billing-42', 'billing-43']);
    const dlq = await readTopic(env, dlqTopic(Topics.TaskRequested), 5);
    const reasons = dlq.map((m) => m.headers['x-error']).sort();
    expect(reasons).toEqual([
      'agent: unknown agent "astrologer"',
      'inputs.feature: is required but missing',
      'requested_by: is required (the user the work runs as)',
      expect.stringContaining('value: payload is not a valid hishamos.events.v1.TaskRequested'),
      'workflow: unknown workflow "nope"',
    ]);
    expect(dlq.find((m) => m.headers['x-error']?.startsWith('agent'))!.headers['x-error-field']).toBe('agent');
    // Nothing half-created: still only the two valid runs for that user.
    await new Promise((r) => setTimeout(r, 300));
    expect((await asAdmin.get<{ runs: unknown[] }>('/v1/runs?user=svc-billing')).body.runs).toHaveLength(2);
  });

  it('streams a run’s events over SSE (replay, then live, then end) and lists runs by user and status', async () => {
    env.executor.script = () => ({ delayMs: 200 });
    const created = (
      await api.post<Run>('/v1/tasks', {
        agent: 'security',
        command: 'phishing_analysis',
        inputs: { email: 'From: ceo@examp1e.com\nPlease buy gift cards' },
        priority: 'high',
      })
    ).body;
    const seen: { event: string; data: { kind: string; stepId: string | null; seq: string } }[] = [];
    const res = await fetch(`${url}/v1/runs/${created.id}/events`, {
      headers: { ...api.headers(false), accept: 'text/event-stream' },
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text(); // the stream ends after the run finishes
    for (const block of text.split('\n\n')) {
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event && data) seen.push({ event, data: JSON.parse(data) });
    }
    expect(seen.map((s) => s.event)).toEqual([
      'queued',
      'started',
      'step_started',
      'step_succeeded',
      'completed',
      'end',
    ]);
    // Resuming after an event id replays only what follows.
    const resumed = await api.call<{ events: { kind: string }[]; finished: boolean }>(
      'GET',
      `/v1/runs/${created.id}/events?after=${seen[2].data.seq}`,
    );
    expect(resumed.body.events.map((e) => e.kind)).toEqual(['step_succeeded', 'completed']);
    expect(resumed.body.finished).toBe(true);
    expect((await new Api(url).as(bob).get(`/v1/runs/${created.id}/events`)).status).toBe(404);

    // The same idempotency key from the same person returns the same run.
    const key = randomUUID();
    const once = await api.post<Run>('/v1/tasks', {
      agent: 'qa',
      command: 'reproduce_bug',
      inputs: { report: 'r' },
      idempotencyKey: key,
    });
    const twice = await api.post<Run>('/v1/tasks', {
      agent: 'qa',
      command: 'reproduce_bug',
      inputs: { report: 'r' },
      idempotencyKey: key,
    });
    expect(twice.body.id).toBe(once.body.id);
    await untilStatus(once.body.id, 'succeeded');

    const mine = await api.get<{ runs: { userId: string }[]; nextCursor: string | null }>('/v1/runs?limit=2');
    expect(mine.body.runs).toHaveLength(2);
    expect(mine.body.runs.every((r) => r.userId === 'u-alice')).toBe(true);
    const page2 = await api.get<{ runs: { userId: string }[] }>(`/v1/runs?limit=2&cursor=${mine.body.nextCursor}`);
    expect(page2.body.runs.length).toBeGreaterThan(0);
    // A member asking for someone else's runs still gets their own.
    const others = await api.get<{ runs: { userId: string }[] }>('/v1/runs?user=svc-billing');
    expect(others.body.runs.every((r) => r.userId === 'u-alice')).toBe(true);
    const failed = await asAdmin.get<{ runs: { status: string }[] }>('/v1/runs?status=failed');
    expect(failed.body.runs.length).toBeGreaterThan(0);
    expect(failed.body.runs.every((r) => r.status === 'failed')).toBe(true);
    expect((await api.get<ApiErrorBody>('/v1/runs?status=bogus')).body.error.field).toBe('status');
  });

  it('applies a batch of results in one transaction: a fan-out’s results together, a duplicate and a stray one', async () => {
    const fan = ['fan_a', 'fan_b', 'fan_c'];
    const def = workflow('batch-fan', [...fan.map((id) => stories(id)), stories('fan_join', { depends_on: fan })]);
    expect((await register(def)).status).toBe(201);
    // The executor takes the three fan-out requests and never answers them; the test answers them in one batch.
    env.executor.script = (req) => (fan.includes(req.stepId) ? { hang: true } : {});
    const created = await start('batch-fan', { feature: 'batch' });
    const requests = await waitFor(
      () => {
        const got = env.executor.executions().filter((e) => e.request.runId === created.id);
        return got.length === 3 ? got.map((e) => e.request) : undefined;
      },
      { what: 'the three fan-out requests' },
    );
    const result = (req: (typeof requests)[number]) => {
      const e = encodeEvent(
        Topics.ExecutionCompleted,
        {
          executionId: req.executionId,
          idempotencyKey: req.idempotencyKey,
          runId: req.runId,
          stepId: req.stepId,
          attempt: req.attempt,
          userId: req.userId,
          agent: req.agent,
          command: req.command,
          status: ExecutionStatus.SUCCEEDED,
          output: `## Stories\n\nstories of ${req.stepId}`,
          sections: { stories: `stories of ${req.stepId}` },
          usage: { inputTokens: 10n, outputTokens: 5n },
        },
        { key: req.runId, source: 'test-gateway' },
      );
      return decodeEvent(Topics.ExecutionCompleted, e.key, e.value, e.headers);
    };
    const [a, b, c] = fan.map((id) => requests.find((r) => r.stepId === id)!);
    const batch = [
      result(a),
      result(b),
      result(a), // the same result delivered again (another event id): late
      result(c),
      result({ ...a, idempotencyKey: `${randomUUID()}:x:1` }), // not a request of the orchestrator
    ];
    const record = svc.app.get(RecordExecutionResultUseCase, { strict: false });
    const outcomes = await transactionWithHooks(svc.context.db, (tx) => record.execute(batch, tx));
    expect(outcomes).toEqual(['applied', 'applied', 'late', 'applied', 'not_ours']);
    const done = await untilStatus(created.id, 'succeeded');
    expect(done.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([
      ['fan_a', 'succeeded', 1],
      ['fan_b', 'succeeded', 1],
      ['fan_c', 'succeeded', 1],
      ['fan_join', 'succeeded', 1],
    ]);
    expect(done.usage).toEqual({ inputTokens: 130, outputTokens: 65 });
    await env.events.waitFor(created.id, WorkflowEventKind.COMPLETED);
    expect(env.events.count(created.id, WorkflowEventKind.STEP_SUCCEEDED)).toBe(4);
    // The join was requested once, after all three.
    expect(env.executor.executions().filter((e) => e.request.runId === created.id)).toHaveLength(4);
  });

  it('keeps a run in the trace it was asked for in: its requests and workflow events carry that trace id (task event, API)', async () => {
    env.executor.script = () => ({ delayMs: 20 });
    const chain = workflow('traced-chain', [
      stories('first'),
      stories('second', { depends_on: ['first'] }),
      stories('third', { depends_on: ['second'] }),
    ]);
    expect((await register(chain)).status).toBe(201);
    const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const spansOf = (traceId: string): ReadableSpan[] =>
      spans.getFinishedSpans().filter((x) => x.spanContext().traceId === traceId);
    /** The run's events and requests carry the trace; the orchestrator's spans are children of `parentName`'s span. */
    const expectTrace = async (runId: string, traceId: string, callerSpan: string, parentName: string) => {
      await untilStatus(runId, 'succeeded');
      await env.events.waitFor(runId, WorkflowEventKind.COMPLETED);
      const requests = env.executor.executions().filter((e) => e.request.runId === runId);
      expect(requests.map((e) => e.request.stepId).sort()).toEqual(['first', 'second', 'third']);
      expect([...new Set(requests.map((e) => traceIdOf(e.traceparent)))]).toEqual([traceId]);
      const events = env.events.of(runId);
      expect(events.map((e) => WorkflowEventKind[e.kind])).toEqual([
        'STARTED',
        'STEP_STARTED',
        'STEP_SUCCEEDED',
        'STEP_STARTED',
        'STEP_SUCCEEDED',
        'STEP_STARTED',
        'STEP_SUCCEEDED',
        'COMPLETED',
      ]);
      expect([...new Set(events.map((e) => traceIdOf(e.traceparent)))]).toEqual([traceId]);
      // The span the run was asked for in (the consumer's, the request's) is a child of the caller's; every
      // event the run caused later was published in a child span of it: the request and STEP_STARTED of a
      // step in "schedule step <id>", the results in "record step <id>", the end in "complete run".
      const traced = await waitFor(
        () => {
          const found = spansOf(traceId);
          return found.some((x) => x.name === 'complete run') ? found : undefined;
        },
        { what: `the spans of trace ${traceId}` },
      );
      const intake = traced.find((x) => x.name === parentName)!;
      expect(intake.parentSpanContext?.spanId).toBe(callerSpan);
      const spanOf = (tp?: string) => tp?.split('-')[2];
      const byId = new Map(traced.map((x) => [x.spanContext().spanId, x]));
      for (const e of [...events.map((x) => x.traceparent), ...requests.map((x) => x.traceparent)]) {
        const span = byId.get(spanOf(e)!);
        expect(span?.parentSpanContext?.spanId).toBe(intake.spanContext().spanId);
      }
      for (const step of ['first', 'second', 'third']) {
        const request = requests.find((r) => r.request.stepId === step)!;
        expect(byId.get(spanOf(request.traceparent)!)?.name).toBe(`schedule step ${step}`);
        const succeeded = events.find((e) => e.kind === WorkflowEventKind.STEP_SUCCEEDED && e.stepId === step)!;
        expect(byId.get(spanOf(succeeded.traceparent)!)?.name).toBe(`record step ${step}`);
      }
      const completed = events.find((e) => e.kind === WorkflowEventKind.COMPLETED)!;
      expect(byId.get(spanOf(completed.traceparent)!)?.name).toBe('complete run');
    };

    // From another team's service: a JSON CloudEvent with a traceparent header, as plain kafkajs sends it.
    const eventTrace = traceparent();
    const taskId = `traced-${randomUUID()}`;
    const kafka = new Kafka({ brokers: env.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: `${env.prefix}.${Topics.TaskRequested}`,
      messages: [
        {
          key: 'svc-tracer',
          value: Buffer.from(
            JSON.stringify({ requestedBy: 'svc-tracer', workflow: 'traced-chain', inputs: { feature: 'x' }, taskId }),
          ),
          headers: {
            ce_id: randomUUID(),
            ce_source: 'external',
            ce_type: eventType(Topics.TaskRequested),
            ce_specversion: CE_SPECVERSION,
            'content-type': 'application/json',
            traceparent: eventTrace,
          },
        },
      ],
    });
    await producer.disconnect();
    const fromEvent = await waitFor(
      async () =>
        (await asAdmin.get<{ runs: { id: string; taskId: string }[] }>('/v1/runs?user=svc-tracer')).body.runs.find(
          (r) => r.taskId === taskId,
        ),
      { timeoutMs: 30000, what: 'the run of the traced task event' },
    );
    await expectTrace(fromEvent.id, traceIdOf(eventTrace), eventTrace.split('-')[2], `consume ${Topics.TaskRequested}`);

    // Through the API, with a traceparent request header (as the gateway forwards it).
    const apiTrace = traceparent();
    const res = await fetch(`${url}/v1/workflows/traced-chain/runs`, {
      method: 'POST',
      headers: { ...api.headers(true), traceparent: apiTrace },
      body: JSON.stringify({ inputs: { feature: 'y' } }),
    });
    expect(res.status).toBe(202);
    await expectTrace(
      ((await res.json()) as Run).id,
      traceIdOf(apiTrace),
      apiTrace.split('-')[2],
      'POST /v1/workflows/:id/runs',
    );

    // A task through the API without one gets a trace of its own, kept the same way.
    const untraced = (
      await api.post<Run>('/v1/tasks', { agent: 'qa', command: 'reproduce_bug', inputs: { report: 'untraced' } })
    ).body;
    await untilStatus(untraced.id, 'succeeded');
    const completed = await env.events.waitFor(untraced.id, WorkflowEventKind.COMPLETED);
    const request = env.executor.executions().find((e) => e.request.runId === untraced.id)!;
    expect(traceIdOf(completed.traceparent)).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdOf(request.traceparent)).toBe(traceIdOf(completed.traceparent));
  });

  it('exports the workflow duration histogram and the active/queued gauges', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /hishamos_workflow_duration_seconds_bucket\{le="7200",service="orchestrator",workflow="incident-response",status="succeeded"\} 2/,
    );
    expect(metrics).toMatch(
      /hishamos_workflow_duration_seconds_count\{service="orchestrator",workflow="task",status="succeeded"\} \d+/,
    );
    expect(metrics).toMatch(/hishamos_workflow_runs_active\{service="orchestrator"\} \d+/);
    expect(metrics).toMatch(/hishamos_workflow_runs_queued\{service="orchestrator"\} 0/);
    expect(metrics).toMatch(/hishamos_workflow_events_total\{kind="failed",service="orchestrator"\} \d+/);
  });
});

/** Reads `count` messages of a topic from the beginning with a plain kafkajs consumer. */
async function readTopic(
  env: OrchestratorEnv,
  topic: string,
  count: number,
): Promise<{ value: Buffer; headers: Record<string, string> }[]> {
  const kafka = new Kafka({ brokers: env.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  const got: { value: Buffer; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: `${env.prefix}.${topic}`, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      got.push({ value: message.value!, headers });
    },
  });
  try {
    await waitFor(() => got.length >= count, {
      what: `${count} messages on ${topic} (have ${got.length})`,
      timeoutMs: 30000,
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}
