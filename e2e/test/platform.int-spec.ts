import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import OpenAI from 'openai';
import {
  BudgetScope,
  BudgetThreshold,
  CircuitState,
  SERVICE_NAMES,
  Topics,
  WorkflowEventKind,
  type ServiceName,
  type Topic,
} from '@hishamos/contracts';
import { ALL_SERVICES } from '@hishamos/cli';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import {
  Api,
  badKindsFor,
  badRecord,
  externalTaskRecord,
  fileSources,
  findLeaks,
  Harness,
  hishamos,
  HttpSink,
  SmtpSink,
  spansFrom,
  TopicRecorder,
  type RecordedRequest,
  type ScanSource,
} from '../src';

// ---------------------------------------------------------------------------------------------------
// What the scenarios share: one install (six processes, Kafka, Postgres, Prometheus, Alertmanager),
// the fake LLM provider behind three providers, and the peers alerting and Alertmanager talk to.
// ---------------------------------------------------------------------------------------------------

const secret = (prefix: string) => `${prefix}${randomBytes(20).toString('hex')}`;
const OPENAI_KEY = secret('sk-e2e-openai-');
const ANTHROPIC_KEY = secret('sk-ant-e2e-');
const GEMINI_KEY = secret('AIza-e2e-');
const JWT_SECRET_KEY = secret('jwt-');
const API_KEY_PEPPER = secret('pepper-');
/** The alerting service's PagerDuty integration key (stored in the secrets service). */
const PD_ROUTING_KEY = randomBytes(16).toString('hex');
/** Alertmanager's own PagerDuty integration key (its routing_key_file). */
const AM_ROUTING_KEY = randomBytes(16).toString('hex');
const SLACK_PATH = `/services/T0E2E/B0E2E/${randomBytes(12).toString('hex')}`;
const EMAIL_TO = 'oncall@e2e.example.com';
const CIRCUIT_OPEN_MS = 120_000;

const INCIDENT = {
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

/** A short workflow for the fault scenarios: short attempt timeouts, so a lost step is retried soon. */
const RETRY = { max_attempts: 5, backoff_ms: 500, multiplier: 2 };
const TIMEOUT = { attempt_seconds: 20 };
const TRIAGE = {
  id: 'e2e-triage',
  name: 'E2E triage',
  version: 1,
  description: 'Reads the logs, then assesses the threat and drafts the customer reply in parallel.',
  inputs: {
    type: 'object',
    required: ['service', 'logs'],
    properties: { service: { type: 'string', minLength: 1 }, logs: { type: 'string', minLength: 1 } },
  },
  steps: [
    {
      id: 'logs',
      agent: 'devops',
      command: 'check_logs',
      inputs: { service: '${inputs.service}', question: 'What failed, and since when?', logs: '${inputs.logs}' },
      retry: RETRY,
      timeout: TIMEOUT,
    },
    {
      id: 'threat',
      agent: 'security',
      command: 'analyze_threat',
      depends_on: ['logs'],
      inputs: {
        threat: 'Incident on ${inputs.service}: ${steps.logs.sections.summary}',
        environment: 'Kubernetes, internet-facing',
        assets: 'payment tokens',
      },
      retry: RETRY,
      timeout: TIMEOUT,
    },
    {
      id: 'reply',
      agent: 'customer-success',
      command: 'answer_ticket',
      depends_on: ['logs'],
      inputs: {
        channel: 'email',
        ticket_text: 'Checkout fails since 14:05',
        product_knowledge: '${steps.logs.sections.summary}',
      },
      retry: RETRY,
      timeout: TIMEOUT,
    },
  ],
};
const TRIAGE_INPUTS = { service: 'checkout-api', logs: 'ERROR pool exhausted at 14:02:11' };

interface Step {
  id: string;
  kind: string;
  agent: string | null;
  status: string;
  executionId: string | null;
  provider: string | null;
}
interface Run {
  id: string;
  status: string;
  taskId: string | null;
  userId: string;
  error: string | null;
  workflow: { id: string; name: string };
  steps: Step[];
}
interface UsageRow {
  request_id: string;
  user_id: string;
  agent_id: string;
  provider: string;
  model: string;
  tokens_input: string;
  tokens_output: string;
  cost: string | null;
  priced: boolean;
  streamed: boolean;
  run_id: string;
  [k: string]: unknown;
}
type ApiErrorBody = { error: { status: number; code: string; message: string } };

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HishamOS distributed: six processes, Kafka, Postgres, Prometheus and Alertmanager, end to end', () => {
  const pagerDuty = new HttpSink();
  const slack = new HttpSink(() => ({ status: 200, body: 'ok' }));
  const traces = new HttpSink(() => ({ status: 200, body: {} }));
  const smtp = new SmtpSink();
  let fake: FakeProviderServer;
  let h: Harness;
  let recorder: TopicRecorder;
  let producer: Producer;
  let admin: Api;
  let ana: { id: string; key: string; api: Api };
  let bob: { id: string; key: string; api: Api };
  /** API keys people got: none may leak either. */
  const issuedKeys: Record<string, string> = {};

  const topic = (t: string) => `${h.topicPrefix}.${t}`;
  const publishTasks = (messages: Message[]) => producer.send({ topic: topic(Topics.TaskRequested), messages });
  const gatewayUrl = () => h.url('agent-gateway');

  const untilFinished = (as: Api, id: string, timeoutMs = 120000) =>
    waitFor(
      async () => {
        const r = await as.get<Run>(`/v1/runs/${id}`);
        return r.status === 200 && TERMINAL.has(r.body.status) ? r.body : undefined;
      },
      { timeoutMs, intervalMs: 500, what: `run ${id} to finish` },
    );
  const runForTask = (as: Api, taskId: string, timeoutMs = 60000) =>
    waitFor(
      async () => {
        const r = await as.get<{ runs: Run[] }>('/v1/runs?limit=100');
        return r.body.runs?.find((x) => x.taskId === taskId);
      },
      { timeoutMs, intervalMs: 300, what: `the run of task ${taskId}` },
    );
  const usageRows = (where: string, params: unknown[]) =>
    h.sql<UsageRow>(
      `SELECT request_id, user_id, agent_id, provider, model, tokens_input::text, tokens_output::text, cost::text,
              priced, streamed, run_id FROM usage_metering.api_usage WHERE ${where}`,
      params,
    );
  const agentSteps = (run: Run) => run.steps.filter((s) => s.kind === 'agent' && s.status === 'succeeded');
  /** PagerDuty events the alerting service sent (its channel's routing key) about one provider. */
  const alertingPages = (provider: string, action?: 'trigger' | 'resolve') => {
    type PdEvent = { routing_key?: string; event_action?: string; dedup_key?: string };
    const mine = pagerDuty.requests.filter(
      (r) => r.path === '/v2/enqueue' && (r.body as PdEvent)?.routing_key === PD_ROUTING_KEY,
    );
    // A trigger names the provider; a resolve carries only the trigger's dedup key.
    const keys = new Set(
      mine
        .filter(
          (r) => (r.body as PdEvent).event_action === 'trigger' && JSON.stringify(r.body).includes(`"${provider}"`),
        )
        .map((r) => (r.body as PdEvent).dedup_key),
    );
    return mine.filter(
      (r) => keys.has((r.body as PdEvent).dedup_key) && (!action || (r.body as PdEvent).event_action === action),
    );
  };
  /** PagerDuty events Alertmanager sent (its own routing key). */
  const alertmanagerPages = (alertname: string, action?: string) =>
    pagerDuty.requests.filter((r: RecordedRequest) => {
      const b = r.body as { routing_key?: string; event_action?: string };
      return (
        r.path === '/alertmanager/v2/enqueue' &&
        b?.routing_key === AM_ROUTING_KEY &&
        (!action || b.event_action === action) &&
        JSON.stringify(b).includes(alertname)
      );
    });

  async function createUser(name: string, extra: Record<string, unknown> = {}) {
    const user = await admin.expect<{ id: string }>(201, 'POST', '/v1/users', {
      email: `${name}-${h.runId}@e2e.example.com`,
      name,
      roles: ['member'],
      ...extra,
    });
    const { key } = await admin.expect<{ key: string }>(201, 'POST', '/v1/api-keys', { name, userId: user.id });
    issuedKeys[`API key of ${name}`] = key;
    return { id: user.id, key, api: new Api(gatewayUrl(), key) };
  }

  beforeAll(async () => {
    fake = await FakeProviderServer.start();
    await Promise.all([pagerDuty.start(), slack.start(), traces.start(), smtp.start()]);
    h = new Harness({
      env: {
        '*': { OTEL_EXPORTER_OTLP_ENDPOINT: traces.url },
        'agent-gateway': {
          OPENAI_API_KEY: OPENAI_KEY,
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          CLAUDE_API_KEY: ANTHROPIC_KEY,
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
          GEMINI_API_KEY: GEMINI_KEY,
          GEMINI_BASE_URL: fake.geminiBaseUrl,
          PROVIDER_FALLBACK: 'openai:gpt-5-mini',
          PROVIDER_MAX_RETRIES: '2',
          PROVIDER_RETRY_BASE_MS: '50',
          CIRCUIT_FAILURE_THRESHOLD: '3',
          CIRCUIT_OPEN_MS: String(CIRCUIT_OPEN_MS),
          // A crashed gateway's running execution is taken over when its lease ends: the total provider
          // timeout + 60 s (the lease's floor), instead of 5 minutes.
          PROVIDER_ATTEMPT_TIMEOUT_MS: '5000',
          PROVIDER_TOTAL_TIMEOUT_MS: '10000',
          EXECUTION_LEASE_SECONDS: '10',
          JWT_SECRET_KEY,
          API_KEY_PEPPER,
        },
        alerting: {
          PAGERDUTY_EVENTS_URL: `${pagerDuty.url}/v2/enqueue`,
          SMTP_HOST: '127.0.0.1',
          SMTP_PORT: String(smtp.port),
          ALERT_EMAIL_FROM: 'hishamos@e2e.example.com',
          ALERT_EMAIL_TO: EMAIL_TO,
          ALERTING_DELIVERY_BACKOFF_MS: '200',
          ALERTING_EVALUATION_INTERVAL_MS: '2000',
        },
        'usage-metering': { RESERVATION_SWEEP_INTERVAL_MS: '1000' },
      },
      prometheus: { pagerDutyUrl: `${pagerDuty.url}/alertmanager/v2/enqueue`, pagerDutyRoutingKey: AM_ROUTING_KEY },
    });
    await h.start();
    recorder = new TopicRecorder(h.brokers, h.topicPrefix, `e2e-recorder-${h.runId}`);
    await recorder.start();
    const kafka = new Kafka({
      brokers: h.brokers,
      clientId: 'incidents-team',
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    producer = kafka.producer();
    await producer.connect();
    admin = h.api();

    // The channels' credentials, where an operator keeps them: the secrets service (alerting may read channels/*).
    const secrets = h.internal('secrets', 'alerting');
    await secrets.expect(200, 'PUT', '/internal/v1/secrets', {
      path: 'channels/pagerduty/routing-key',
      value: PD_ROUTING_KEY,
    });
    await secrets.expect(200, 'PUT', '/internal/v1/secrets', {
      path: 'channels/slack/webhook-url',
      value: `${slack.url}${SLACK_PATH}`,
    });
    // The default email channel points at SMTP_HOST; the local relay needs no TLS and no login.
    const channels = await admin.expect<{ data?: { id: string; name: string }[] } | { id: string; name: string }[]>(
      200,
      'GET',
      '/v1/channels',
    );
    const list = Array.isArray(channels) ? channels : (channels.data ?? []);
    const email = list.find((c) => c.name === 'email');
    if (!email) throw new Error(`no default email channel: ${JSON.stringify(channels)}`);
    await admin.expect(200, 'PATCH', `/v1/channels/${email.id}`, {
      config: { host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'hishamos@e2e.example.com', to: [EMAIL_TO] },
      secretPath: null,
    });

    await admin.expect(201, 'POST', '/v1/workflows', { definition: TRIAGE });
    ana = await createUser('ana');
    // bob's daily hard limit: the gateway stores it at usage-metering (which owns budgets).
    bob = await createUser('bob', { dailyBudgetUsd: '0.01' });
  }, 600000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await recorder?.stop();
    await h?.stop();
    await fake?.close();
    await Promise.all([pagerDuty.stop(), slack.stop(), traces.stop(), smtp.stop()]);
  });

  it('starts every service ready on Postgres and Kafka', async () => {
    for (const s of SERVICE_NAMES) {
      const r = await fetch(`${h.url(s)}/health/ready`);
      const body = (await r.json()) as { checks: { database: { kind: string }; bus: { transport: string } } };
      expect(r.status).toBe(200);
      expect(body.checks.database.kind).toBe('postgres');
      expect(body.checks.bus.transport).toBe('kafka');
    }
  });

  it('is scraped by Prometheus with the project rules loaded', async () => {
    const prom = h.prometheus!.prometheusUrl;
    await waitFor(
      async () => {
        const r = (await (await fetch(`${prom}/api/v1/targets`)).json()) as {
          data: { activeTargets: { health: string; labels: { service: string } }[] };
        };
        const up = r.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.service);
        return SERVICE_NAMES.every((s) => up.includes(s));
      },
      { what: 'all six targets up', timeoutMs: 30000, intervalMs: 500 },
    );
    const rules = (await (await fetch(`${prom}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string }[] }[] };
    };
    const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    for (const alert of ['HighErrorRate', 'WorkflowDurationHigh', 'HighAPICost', 'AgentDown', 'ProviderCircuitOpen'])
      expect(names).toContain(alert);
    await waitFor(
      async () => {
        const q = (await (await fetch(`${prom}/api/v1/query?query=sum(hishamos_service_up)`)).json()) as {
          data: { result: { value: [number, string] }[] };
        };
        return Number(q.data.result[0]?.value[1]) === SERVICE_NAMES.length;
      },
      { what: 'sum(hishamos_service_up) = 6 in Prometheus', timeoutMs: 30000, intervalMs: 500 },
    );
  });

  it('runs a workflow another team requested with a JSON CloudEvent on Kafka: usage, cost, quality, events, API and CLI', async () => {
    const task = externalTaskRecord({
      requestedBy: ana.id,
      workflow: 'incident-response',
      inputs: INCIDENT,
      priority: 'high',
    });
    await publishTasks([task.message]);
    // The producer retries (same CloudEvent id and source): still one run.
    await publishTasks([task.message]);
    const queued = await runForTask(ana.api, task.taskId);
    const run = await untilFinished(ana.api, queued.id);
    expect(run).toMatchObject({ status: 'succeeded', userId: ana.id, taskId: task.taskId, error: null });
    expect(run.workflow.id).toBe('incident-response');
    const steps = agentSteps(run);
    const agents = new Set(steps.map((s) => s.agent));
    expect(agents).toEqual(new Set(['devops', 'security', 'customer-success', 'project-manager']));
    // The health verdict the fake gives is neither "degraded" nor "down": the rollback step is skipped.
    expect(run.steps.find((s) => s.id === 'rollback')?.status).toBe('skipped');
    const executions = steps.map((s) => s.executionId!).sort();
    expect(executions.every(Boolean)).toBe(true);
    expect(
      (await ana.api.get<{ runs: Run[] }>('/v1/runs?limit=100')).body.runs.filter((r) => r.taskId === task.taskId),
    ).toHaveLength(1);

    // Every provider call metered once, priced, charged to the person the task named.
    const usage = await waitFor(
      async () => {
        const rows = await usageRows('run_id = $1', [run.id]);
        return rows.length >= executions.length ? rows : undefined;
      },
      { timeoutMs: 30000, what: 'usage rows of the run' },
    );
    expect(usage.map((u) => u.request_id).sort()).toEqual(executions);
    for (const u of usage) {
      expect(u).toMatchObject({ user_id: ana.id, priced: true });
      expect(Number(u.cost)).toBeGreaterThan(0);
      expect(Number(u.tokens_input)).toBeGreaterThan(0);
      expect(Number(u.tokens_output)).toBeGreaterThan(0);
    }
    expect(new Set(usage.map((u) => u.provider))).toEqual(new Set(['openai', 'anthropic']));
    // Cost: today's spend of the person is exactly the sum of those records.
    const [{ total }] = await h.sql<{ total: string }>(
      `SELECT sum(cost)::text AS total FROM usage_metering.api_usage WHERE user_id = $1`,
      [ana.id],
    );
    const spend = await waitFor(
      async () => {
        const r = await admin.get<{ day: { spentUsd: string } }>(`/v1/spend/users/${ana.id}`);
        return r.status === 200 && Number(r.body.day?.spentUsd) > 0 ? r.body : undefined;
      },
      { timeoutMs: 20000, what: `the spend of ${ana.id}` },
    );
    expect(Number(spend.day.spentUsd)).toBeCloseTo(Number(total), 9);

    // Quality: each output scored (0-10) by feedback-ml, readable through the gateway.
    const scores = await waitFor(
      async () => {
        const rows = await h.sql<{ execution_id: string; total: string }>(
          `SELECT execution_id, total::text FROM feedback_ml.quality_scores WHERE execution_id = ANY($1)`,
          [executions],
        );
        return rows.length === executions.length ? rows : undefined;
      },
      { timeoutMs: 30000, what: 'quality scores of the run' },
    );
    for (const s of scores) expect(Number(s.total)).toBeGreaterThanOrEqual(0);
    for (const s of scores) expect(Number(s.total)).toBeLessThanOrEqual(10);
    const quality = await ana.api.get<{ total: number | string }>(`/v1/quality/executions/${executions[0]}`);
    expect(quality.status).toBe(200);
    expect(Number(quality.body.total)).toBeGreaterThan(0);
    await waitFor(
      () =>
        recorder.events(Topics.QualityScored, (e) => executions.includes(e.payload.executionId)).length ===
        executions.length,
      { timeoutMs: 20000, what: 'QualityScored events' },
    );

    // The workflow's events on its topic, in order, keyed by the run.
    const events = await waitFor(
      () => {
        const e = recorder.events(Topics.WorkflowProgressed, (x) => x.payload.runId === run.id);
        return e.some((x) => x.payload.kind === WorkflowEventKind.COMPLETED) ? e : undefined;
      },
      { timeoutMs: 20000, what: 'workflow events' },
    );
    const kinds = events.map((e) => e.payload.kind);
    expect(kinds[0]).toBe(WorkflowEventKind.STARTED);
    expect(kinds[kinds.length - 1]).toBe(WorkflowEventKind.COMPLETED);
    expect(kinds.filter((k) => k === WorkflowEventKind.STEP_SUCCEEDED)).toHaveLength(steps.length);
    expect(kinds).toContain(WorkflowEventKind.STEP_SKIPPED);
    expect(events.every((e) => e.key === run.id && e.payload.taskId === task.taskId)).toBe(true);

    // The person is told (alerting's in-app notification).
    await waitFor(
      async () =>
        (await ana.api.get<{ data: { title: string; link: string | null }[] }>('/v1/notifications')).body.data?.find(
          (n) => n.link === `/v1/runs/${run.id}` && /completed/.test(n.title),
        ),
      { timeoutMs: 20000, what: 'the completion notification' },
    );

    // The CLI shows the run, as the person sees it.
    const list = await hishamos(['runs'], { url: gatewayUrl(), apiKey: ana.key });
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(run.id);
    expect(list.stdout).toMatch(new RegExp(`${run.id}\\s+Incident response\\s+succeeded`));
    const one = await hishamos(['runs', run.id], { url: gatewayUrl(), apiKey: ana.key });
    expect(one.code).toBe(0);
    for (const id of ['logs', 'health', 'threat', 'customer_comms', 'status_report']) expect(one.stdout).toContain(id);

    // The provider keys reached the providers (and, below, nowhere else).
    const calls = fake.requests.filter((r) => r.route === 'openai.chat' || r.route === 'anthropic.messages');
    expect(calls.length).toBeGreaterThanOrEqual(executions.length);
    for (const c of calls)
      if (c.route === 'openai.chat') expect(c.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      else
        expect(c.headers['x-api-key'] ?? c.headers.authorization).toMatch(new RegExp(`^(Bearer )?${ANTHROPIC_KEY}$`));

    // The external producer's trace context reaches the orchestrator's intake.
    const intake = await waitFor(
      () =>
        spansFrom(traces.requests).find(
          (s) =>
            s.traceId === task.traceId && s.service === 'orchestrator' && s.name === `consume ${Topics.TaskRequested}`,
        ),
      { timeoutMs: 20000, what: 'the intake span in the external trace' },
    );
    expect(intake.parentSpanId).toBe(task.spanId);
  });

  it('serves the same through the OpenAI-compatible endpoint with the official openai client, streaming', async () => {
    const client = new OpenAI({ baseURL: `${gatewayUrl()}/v1`, apiKey: ana.key, maxRetries: 0 });
    const before = fake.count('openai.chat');
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'agent/customer-success',
        messages: [{ role: 'user', content: 'A customer cannot pay since 14:05. Draft a two-line reply.' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(chunks).toBeGreaterThan(2);
    expect(text.length).toBeGreaterThan(10);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const upstream = fake.requests.filter((r) => r.route === 'openai.chat').slice(before);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ stream: true, model: 'gpt-5-mini' });
    const id = response.headers.get('x-hishamos-execution-id')!;
    expect(id).toBeTruthy();
    const [row] = await waitFor(
      async () => {
        const rows = await usageRows('request_id = $1', [id]);
        return rows.length ? rows : undefined;
      },
      { timeoutMs: 20000, what: 'the usage row of the streamed completion' },
    );
    expect(row).toMatchObject({
      user_id: ana.id,
      agent_id: 'customer-success',
      provider: 'openai',
      model: 'gpt-5-mini',
      streamed: true,
      priced: true,
    });
    expect(Number(row.cost)).toBeGreaterThan(0);
    expect(Number(row.tokens_output)).toBe(usage!.completion_tokens);
    expect(Number(row.tokens_input)).toBe(usage!.prompt_tokens);
    const execution = await ana.api.expect<{ status: string; streamed: boolean; usage: { outputTokens: number } }>(
      200,
      'GET',
      `/v1/executions/${id}`,
    );
    expect(execution).toMatchObject({ status: 'succeeded', streamed: true, agent: 'customer-success' });
    expect(execution.usage.outputTokens).toBe(usage!.completion_tokens);
    // And in the CLI's usage report of the person.
    const report = await hishamos(['usage', '--by', 'agent', '--json'], { url: gatewayUrl(), apiKey: ana.key });
    expect(report.code).toBe(0);
    const rows = (JSON.parse(report.stdout) as { rows: { agent: string; requests: number; costUsd: string }[] }).rows;
    const cs = rows.find((r) => r.agent === 'customer-success');
    expect(cs?.requests).toBeGreaterThanOrEqual(2);
    expect(Number(cs?.costUsd)).toBeGreaterThan(0);
  });

  it('refuses a person over their hard budget before any provider call, with a notification and an email', async () => {
    // A cheap call fits in bob's $0.01 day.
    const client = new OpenAI({ baseURL: `${gatewayUrl()}/v1`, apiKey: bob.key, maxRetries: 0 });
    const cheap = await client.chat.completions.create({
      model: 'agent/customer-success',
      messages: [{ role: 'user', content: 'Say hello.' }],
      max_tokens: 40,
    });
    expect(cheap.choices[0].message.content).toBeTruthy();
    // A gpt-5 command reserves its max output (4096 tokens, about $0.04): over the limit.
    const before = fake.requests.length;
    const refused = await bob.api.post<ApiErrorBody>('/v1/agents/devops/commands/check_logs', {
      inputs: { service: 'checkout-api', question: 'Why the 5xx?', logs: 'ERROR pool exhausted' },
    });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('budget_exceeded');
    expect(refused.body.error.message).toMatch(/budget/i);
    expect(fake.requests.length).toBe(before);
    const crossed = await waitFor(
      () =>
        recorder.events(
          Topics.BudgetThresholdCrossed,
          (e) => e.payload.scopeId === bob.id && e.payload.threshold === BudgetThreshold.HARD,
        )[0],
      { timeoutMs: 20000, what: 'the hard-limit budget event' },
    );
    expect(crossed.payload).toMatchObject({ scope: BudgetScope.USER, limitUsd: expect.stringMatching(/^0\.01/) });
    const note = await waitFor(
      async () =>
        (
          await bob.api.get<{ data: { title: string; type: string; message: string }[] }>('/v1/notifications')
        ).body.data?.find((n) => n.title === 'Budget hard limit reached'),
      { timeoutMs: 20000, what: "bob's budget notification" },
    );
    expect(note.type).toBe('error');
    const mail = await waitFor(() => smtp.messages.find((m) => /Budget hard limit reached/.test(m.raw)), {
      timeoutMs: 30000,
      what: 'the budget email',
    });
    expect(mail.to).toEqual([EMAIL_TO]);
    expect(mail.raw).toContain(bob.id);
    expect(fake.requests.length).toBe(before);
  });

  let circuitOpenedAt = 0;

  it('falls back when a provider fails: retries, the second provider, the circuit opens, provider-health events, one page', async () => {
    fake.fail({ status: 503, message: 'gemini is down' }, { route: 'gemini.generate', times: Infinity });
    const geminiCalls = () => fake.requests.filter((r) => r.route === 'gemini.generate');
    const before = geminiCalls().length;
    const write = () =>
      ana.api.post<{ status: string; provider: string; model: string }>(
        '/v1/agents/business-analyst/commands/write_user_stories',
        { inputs: { feature: 'Saved carts' } },
      );
    const first = await write();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'succeeded', provider: 'openai', model: 'gpt-5-mini' });
    // The primary (gemini) was tried with retries before the fallback answered.
    expect(geminiCalls().length - before).toBeGreaterThanOrEqual(3);
    expect(
      geminiCalls()
        .slice(before)
        .every((r) => r.fault && 'status' in r.fault),
    ).toBe(true);
    const open = await waitFor(
      () =>
        recorder.events(
          Topics.ProviderHealth,
          (e) => e.payload.provider === 'gemini' && e.payload.state === CircuitState.OPEN,
        )[0],
      { timeoutMs: 20000, what: 'ProviderHealth OPEN for gemini' },
    );
    circuitOpenedAt = Date.now();
    expect(open.payload.healthy).toBe(false);
    // Open circuit: gemini is not called at all, the fallback answers at once.
    const tried = geminiCalls().length;
    const second = await write();
    expect(second.body).toMatchObject({ status: 'succeeded', provider: 'openai' });
    expect(geminiCalls().length).toBe(tried);
    // The gateway's gauge says open (2), for Prometheus.
    const metrics = await (await fetch(`${gatewayUrl()}/metrics`)).text();
    expect(metrics).toMatch(/hishamos_provider_circuit_state\{[^}]*provider="gemini"[^}]*\} 2/);
    // alerting's platform_down rule pages PagerDuty (and posts to Slack).
    await waitFor(() => alertingPages('gemini', 'trigger').length > 0, {
      timeoutMs: 30000,
      what: 'the PagerDuty page',
    });
    await waitFor(
      () => slack.requests.some((r) => r.path === SLACK_PATH && JSON.stringify(r.body).includes('gemini')),
      {
        timeoutMs: 30000,
        what: 'the Slack message',
      },
    );
  });

  it('sends 1,000 malformed or hostile events on every consumed topic to the DLQs with reasons; no consumer stops; valid traffic alongside is unaffected', async () => {
    // Which services consume each topic (their groups: hishamos.<service>.<topic>, or a replica's own group).
    const consumers = new Map<Topic, ServiceName[]>();
    for (const def of ALL_SERVICES)
      for (const t of def.consumes) consumers.set(t, [...(consumers.get(t) ?? []), def.name as ServiceName]);
    const topics = [...consumers.keys()];
    const expected = new Set<string>();
    const batches = new Map<Topic, Message[]>();
    for (let i = 0; i < 1000; i++) {
      const t = topics[i % topics.length];
      const kinds = badKindsFor(t);
      const rec = badRecord(kinds[Math.floor(i / topics.length) % kinds.length], t, i);
      for (const s of consumers.get(t)!) expected.add(`${s}|${t}|${rec.id}`);
      batches.set(t, [...(batches.get(t) ?? []), { key: `k${i % 7}`, value: rec.value, headers: rec.headers }]);
    }
    const hostile = (async () => {
      // Produce requests under the broker's 1 MB limit (the huge records go one or two at a time).
      for (const [t, messages] of batches) {
        let chunk: Message[] = [];
        let bytes = 0;
        for (const m of [...messages, undefined]) {
          const size = m ? (m.value as Buffer).length + 512 : 0;
          if (chunk.length && (!m || bytes + size > 900_000 || chunk.length >= 50)) {
            await producer.send({ topic: topic(t), messages: chunk });
            chunk = [];
            bytes = 0;
          }
          if (m) {
            chunk.push(m);
            bytes += size;
          }
        }
      }
    })();
    // Valid traffic at the same time: two workflows from Kafka, one through the API, a chat completion.
    const valid = [0, 1].map(() =>
      externalTaskRecord({ requestedBy: ana.id, workflow: 'incident-response', inputs: INCIDENT }),
    );
    await publishTasks(valid.map((v) => v.message));
    const viaApi = await ana.api.expect<Run>(202, 'POST', '/v1/workflows/incident-response/runs', { inputs: INCIDENT });
    const chat = await new OpenAI({
      baseURL: `${gatewayUrl()}/v1`,
      apiKey: ana.key,
      maxRetries: 0,
    }).chat.completions.create({
      model: 'agent/devops',
      messages: [{ role: 'user', content: 'Is a 12% 5xx rate an incident?' }],
    });
    expect(chat.choices[0].message.content).toBeTruthy();
    await hostile;

    const runs = [...(await Promise.all(valid.map((v) => runForTask(ana.api, v.taskId)))), viaApi];
    for (const r of runs) {
      const done = await untilFinished(ana.api, r.id, 180000);
      expect(done.status).toBe('succeeded');
      const executions = agentSteps(done).map((s) => s.executionId!);
      await waitFor(async () => (await usageRows('run_id = $1', [done.id])).length === executions.length, {
        timeoutMs: 60000,
        what: `usage of run ${done.id}`,
      });
      await waitFor(
        async () =>
          (await h.sql(`SELECT 1 FROM feedback_ml.quality_scores WHERE execution_id = ANY($1)`, [executions]))
            .length === executions.length,
        { timeoutMs: 60000, what: `quality scores of run ${done.id}` },
      );
    }

    // Every bad record dead-lettered by every service that consumes its topic, with the reason.
    const serviceOf = (group: string) =>
      SERVICE_NAMES.find((s) => group.split('.').includes(s) && group.includes(`hishamos.${s}.`));
    const seen = new Map<string, string>();
    const collect = () => {
      seen.clear();
      for (const m of recorder.messages) {
        if (!m.topic.endsWith('.dlq')) continue;
        const service = serviceOf(m.headers['x-consumer-group'] ?? '');
        seen.set(`${service}|${m.topic.slice(0, -'.dlq'.length)}|${m.headers.ce_id}`, m.headers['x-error'] ?? '');
      }
      return [...expected].every((k) => seen.has(k));
    };
    await waitFor(collect, { timeoutMs: 180000, intervalMs: 1000, what: `${expected.size} dead letters` }).catch(
      (e: Error) => {
        const missing = [...expected].filter((k) => !seen.has(k));
        const byGroup = new Map<string, number>();
        for (const k of missing)
          byGroup.set(k.split('|').slice(0, 2).join('|'), (byGroup.get(k.split('|').slice(0, 2).join('|')) ?? 0) + 1);
        throw new Error(`${e.message}; ${missing.length} missing: ${JSON.stringify([...byGroup])}`);
      },
    );
    for (const k of expected) expect(seen.get(k)).toMatch(/\S/);
    // Only the hostile records: nothing valid was dead-lettered.
    const strays = recorder.messages.filter((m) => m.topic.endsWith('.dlq') && !m.headers.ce_id?.startsWith('bad-'));
    expect(strays.map((m) => `${m.topic} ${m.headers['x-consumer-group']}: ${m.headers['x-error']}`)).toEqual([]);
    for (const s of SERVICE_NAMES) expect((await fetch(`${h.url(s)}/health/ready`)).status).toBe(200);
  });

  it("Prometheus's ProviderCircuitOpen alert reaches Alertmanager and the PagerDuty sink", async () => {
    const am = h.prometheus!.alertmanagerUrl;
    const page = await waitFor(() => alertmanagerPages('ProviderCircuitOpen', 'trigger')[0], {
      timeoutMs: 150000,
      intervalMs: 1000,
      what: 'the ProviderCircuitOpen page from Alertmanager',
    });
    expect(JSON.stringify(page.body)).toContain('gemini');
    const alerts = (await (
      await fetch(`${am}/api/v2/alerts?filter=${encodeURIComponent('alertname="ProviderCircuitOpen"')}`)
    ).json()) as { labels: Record<string, string>; status: { state: string } }[];
    expect(alerts.map((a) => a.labels.provider)).toContain('gemini');
    // Alertmanager also delivered it to the alerting service's receiver (its alert history).
    await waitFor(
      async () => JSON.stringify((await admin.get('/v1/alerts?limit=200')).body).includes('ProviderCircuitOpen'),
      { timeoutMs: 30000, what: 'ProviderCircuitOpen in the alert history' },
    );
  });

  it('resolves the page when the provider recovers (alerting and Alertmanager), having paged once', async () => {
    fake.clearFaults();
    const wait = circuitOpenedAt + CIRCUIT_OPEN_MS + 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const back = await waitFor(
      async () => {
        const r = await ana.api.post<{ status: string; provider: string }>(
          '/v1/agents/business-analyst/commands/write_user_stories',
          { inputs: { feature: 'Gift cards' } },
        );
        return r.status === 200 && r.body.provider === 'gemini' ? r.body : undefined;
      },
      { timeoutMs: 30000, intervalMs: 1000, what: 'a call served by gemini again' },
    );
    expect(back.status).toBe('succeeded');
    const health = await waitFor(
      () => {
        const e = recorder.events(Topics.ProviderHealth, (x) => x.payload.provider === 'gemini');
        return e.some((x) => x.payload.state === CircuitState.CLOSED && x.payload.healthy) ? e : undefined;
      },
      { timeoutMs: 20000, what: 'ProviderHealth CLOSED for gemini' },
    );
    // open -> half-open (both unhealthy) -> closed.
    expect(health.map((e) => e.payload.state)).toEqual([
      CircuitState.OPEN,
      CircuitState.HALF_OPEN,
      CircuitState.CLOSED,
    ]);
    const resolve = await waitFor(() => alertingPages('gemini', 'resolve')[0], {
      timeoutMs: 30000,
      what: "alerting's PagerDuty resolve",
    });
    const triggers = alertingPages('gemini', 'trigger');
    // Two unhealthy events, one page: the rule's cooldown held the second.
    expect(triggers).toHaveLength(1);
    expect((resolve.body as { dedup_key: string }).dedup_key).toBe(
      (triggers[0].body as { dedup_key: string }).dedup_key,
    );
    await waitFor(() => alertmanagerPages('ProviderCircuitOpen', 'resolve').length > 0, {
      timeoutMs: 90000,
      intervalMs: 1000,
      what: "Alertmanager's resolve of ProviderCircuitOpen",
    });
  });

  /**
   * Starts a run of the fault workflow from Kafka and returns once some provider call is in flight
   * (the fake answers after its latency), so what follows happens mid-run.
   */
  async function startFaultRun(): Promise<string> {
    const calls = fake.requests.length;
    const task = externalTaskRecord({ requestedBy: ana.id, workflow: TRIAGE.id, inputs: TRIAGE_INPUTS });
    await publishTasks([task.message]);
    const run = await runForTask(ana.api, task.taskId, 120000);
    await waitFor(() => fake.requests.length > calls, {
      timeoutMs: 60000,
      intervalMs: 20,
      what: 'a provider call in flight',
    });
    return run.id;
  }
  const allReady = () =>
    Promise.all(
      SERVICE_NAMES.map((s) =>
        waitFor(async () => (await fetch(`${h.url(s)}/health/ready`)).status === 200, {
          timeoutMs: 120000,
          intervalMs: 500,
          what: `${s} ready again`,
        }),
      ),
    );
  /** Waits for the runs to succeed and for one usage row per execution of their steps (request ids unique). */
  async function expectCompletedOnce(ids: string[]): Promise<Run[]> {
    const runs: Run[] = [];
    for (const id of ids) runs.push(await untilFinished(ana.api, id, 180000));
    expect(runs.map((r) => `${r.id} ${r.status} ${r.error ?? ''}`)).toEqual(runs.map((r) => `${r.id} succeeded `));
    for (const run of runs) {
      const executions = new Set(agentSteps(run).map((s) => s.executionId!));
      expect(executions.size).toBe(TRIAGE.steps.length);
      const rows = await waitFor(
        async () => {
          const u = await usageRows('run_id = $1', [run.id]);
          return [...executions].every((e) => u.some((x) => x.request_id === e)) ? u : undefined;
        },
        { timeoutMs: 60000, what: `the usage of run ${run.id}` },
      );
      // One record per provider call of the run (an attempt a crash cut short may have its own).
      expect(new Set(rows.map((r) => r.request_id)).size).toBe(rows.length);
    }
    return runs;
  }

  it('completes every workflow when each service is killed with SIGKILL mid-run and restarted', async () => {
    fake.latencyMs = 1500; // provider calls take a while: the kills land while one is in flight
    const runs: string[] = [];
    // Two at a time; the gateway first (its cut-short execution is taken over when its lease ends,
    // the orchestrator retries the step after its 20 s attempt timeout, whichever comes first).
    const rounds: ServiceName[][] = [
      ['agent-gateway', 'usage-metering'],
      ['orchestrator', 'feedback-ml'],
      ['alerting', 'secrets'],
    ];
    for (const round of rounds) {
      runs.push(await startFaultRun());
      await Promise.all(round.map((s) => h.crashAndRestart(s)));
    }
    const done = await expectCompletedOnce(runs);
    // Nothing valid was dead-lettered by the crashes.
    const strays = recorder.messages.filter((m) => m.topic.endsWith('.dlq') && !m.headers.ce_id?.startsWith('bad-'));
    expect(strays.map((m) => `${m.topic} ${m.headers['x-consumer-group']}: ${m.headers['x-error']}`)).toEqual([]);
    // One "completed" notification per run: none lost, none duplicated.
    await waitFor(
      async () => {
        const notes = (
          await ana.api.get<{ data: { link: string | null; title: string }[] }>('/v1/notifications?limit=200')
        ).body.data;
        const counts = done.map(
          (run) => notes.filter((x) => x.link === `/v1/runs/${run.id}` && /completed/.test(x.title)).length,
        );
        if (counts.some((c) => c > 1)) throw new Error(`duplicated notifications: ${JSON.stringify(counts)}`);
        return counts.every((c) => c === 1);
      },
      { timeoutMs: 30000, what: 'one completion notification per run' },
    );
  });

  it('reflects a Postgres restart mid-run in /health/ready, recovers, and the run completes with its usage counted once', async () => {
    const run = await startFaultRun();
    await h.stopPostgres();
    for (const s of SERVICE_NAMES)
      await waitFor(
        async () => {
          const r = await fetch(`${h.url(s)}/health/ready`);
          const body = (await r.json()) as { checks: { database: { ok: boolean } } };
          return r.status === 503 && body.checks.database.ok === false;
        },
        { timeoutMs: 30000, intervalMs: 200, what: `${s} to report the database down` },
      );
    await sleep(3000);
    await h.startPostgres();
    await allReady();
    await expectCompletedOnce([run]);
    // Over the whole install: metering's aggregates hold each record once, and every record is a call
    // a provider answered (nothing charged twice).
    const [agg] = await h.sql<{ records: string; daily: string; requests: string; dailyRequests: string }>(
      `SELECT (SELECT coalesce(sum(cost), 0) FROM usage_metering.api_usage)::text AS records,
              (SELECT coalesce(sum(cost), 0) FROM usage_metering.usage_daily)::text AS daily,
              (SELECT count(*) FROM usage_metering.api_usage)::text AS requests,
              (SELECT coalesce(sum(requests), 0) FROM usage_metering.usage_daily)::text AS "dailyRequests"`,
    );
    expect(agg.daily).toBe(agg.records);
    expect(agg.dailyRequests).toBe(agg.requests);
    const answered = fake.requests.filter(
      (r) =>
        (r.route === 'openai.chat' || r.route === 'anthropic.messages' || r.route === 'gemini.generate') && !r.fault,
    ).length;
    expect(Number(agg.requests)).toBeLessThanOrEqual(answered);
  });

  it('leaves no secret value in any log file, topic message, metric or trace it captured', async () => {
    await sleep(6000); // the last spans' export (batch every 5 s)
    const secrets: Record<string, string> = {
      ...h.secretValues(),
      ...issuedKeys,
      OPENAI_API_KEY: OPENAI_KEY,
      CLAUDE_API_KEY: ANTHROPIC_KEY,
      GEMINI_API_KEY: GEMINI_KEY,
      JWT_SECRET_KEY,
      API_KEY_PEPPER,
      'PagerDuty routing key (secrets service)': PD_ROUTING_KEY,
      'PagerDuty routing key (Alertmanager)': AM_ROUTING_KEY,
      'Slack webhook URL (secrets service)': `${slack.url}${SLACK_PATH}`,
      'Slack webhook path': SLACK_PATH.split('/').pop()!,
    };
    for (const [label, key] of Object.entries(issuedKeys)) secrets[`${label} (secret part)`] = key.split('_')[2];
    const sources: ScanSource[] = fileSources(h.logFiles());
    expect(sources.length).toBeGreaterThanOrEqual(SERVICE_NAMES.length + 2);
    for (const m of recorder.messages)
      sources.push({
        where: `${m.topic}@${m.partition}:${m.offset}`,
        text: `${m.key}\n${JSON.stringify(m.headers)}\n${m.value.toString('utf8')}\n${m.value.toString('latin1')}`,
      });
    expect(recorder.messages.length).toBeGreaterThan(1000);
    for (const s of SERVICE_NAMES)
      sources.push({ where: `${s} /metrics`, text: await (await fetch(`${h.url(s)}/metrics`)).text() });
    const prom = h.prometheus!.prometheusUrl;
    sources.push({
      where: 'Prometheus (every series it scraped)',
      text: await (await fetch(`${prom}/federate?match[]=${encodeURIComponent('{job="hishamos"}')}`)).text(),
    });
    const exported = traces.requests.filter((r) => r.path.startsWith('/v1/traces'));
    expect(exported.length).toBeGreaterThan(0);
    sources.push(...exported.map((r, i) => ({ where: `trace export #${i}`, text: JSON.stringify(r.body) })));
    expect(findLeaks(secrets, sources)).toEqual([]);
  });
});
