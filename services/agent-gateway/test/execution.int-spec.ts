import { randomUUID } from 'node:crypto';
import { CircuitState, ExecutionStatus, Topics, type Envelope } from '@hishamos/contracts';
import { FakeProviderServer, OFFLINE_NOTICE } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { EmbedderRegistry } from '../src/knowledge/embedding/embedder.registry';
import { ExecutionWorker } from '../src/workers/execution.worker';
import { BOOTSTRAP_KEY, createUserWithKey, startTestGateway, type Json, type TestGateway } from './execution-harness';

jest.setTimeout(180000);

const REVIEW = { code: 'function add(a, b) { return a - b }', language: 'JavaScript' };

/**
 * Agent command execution end to end on the embedded gateway: sync, async, ExecutionRequested events
 * (idempotent: a duplicate re-publishes the stored result), failures (reservation released, failed
 * ExecutionCompleted), fallback past an open circuit (ProviderHealth published), a stream the client
 * abandons (still charged), metering that cannot answer (the fail-closed rule), crash recovery and metrics.
 */
describe('agent command execution', () => {
  let gw: TestGateway;
  let member: { id: string; key: string };
  let completed: Envelope<typeof Topics.ExecutionCompleted>[];
  let usage: Envelope<typeof Topics.UsageRecorded>[];
  let health: Envelope<typeof Topics.ProviderHealth>[];

  beforeAll(async () => {
    gw = await startTestGateway({
      PROVIDER_FALLBACK: 'offline',
      CIRCUIT_FAILURE_THRESHOLD: '3',
      CIRCUIT_OPEN_MS: '1500',
      // This suite answers only after the usage record has committed (the other suite: answer first).
      USAGE_RECORD_BEFORE_RESPONSE: 'true',
    });
    member = await createUserWithKey(gw, 'mia@example.com', ['member']);
    await gw.api(`/v1/users/${member.id}/agents`, {
      method: 'PUT',
      key: BOOTSTRAP_KEY,
      body: { agents: [{ slug: 'legal', allowed: false }] },
    });
    completed = await gw.capture(Topics.ExecutionCompleted);
    usage = await gw.capture(Topics.UsageRecorded);
    health = await gw.capture(Topics.ProviderHealth);
  });
  afterAll(async () => gw?.stop());

  const run = (path: string, body: Json, key = member.key, headers: Record<string, string> = {}) =>
    gw.api(path, { key, body, headers });
  const completedOf = (id: string) =>
    waitFor(() => completed.find((e) => e.payload.executionId === id), { what: `ExecutionCompleted ${id}` });

  it('runs a command synchronously: sections, reservation, ExecutionCompleted and UsageRecorded', async () => {
    const res = await run('/v1/agents/code-reviewer/commands/review_code', { inputs: REVIEW, maxTokens: 300 });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      status: 'succeeded',
      agent: 'code-reviewer',
      command: 'review_code',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      offline: false,
      templateVersion: 1,
    });
    expect(Object.keys(res.json.sections as object)).toEqual([
      'verdict',
      'blockers',
      'majors',
      'minor_and_nits',
      'strengths',
    ]);
    expect(res.json.prompt).toContain('## Verdict —');
    const id = res.json.id as string;
    const reservation = gw.metering.reservations.find((r) => r.requestId === id)!;
    expect(reservation).toMatchObject({
      userId: member.id,
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      agent: 'code-reviewer',
      maxOutputTokens: 300,
      released: false,
    });
    const done = await completedOf(id);
    expect(done.payload).toMatchObject({
      status: ExecutionStatus.SUCCEEDED,
      userId: member.id,
      agent: 'code-reviewer',
      command: 'review_code',
      templateVersion: '1',
      provider: 'anthropic',
      offline: false,
    });
    expect((done.payload as { sections: Json }).sections).toEqual(res.json.sections);
    const used = await waitFor(() => usage.find((e) => e.payload.requestId === id), { what: 'UsageRecorded' });
    expect(used.payload.reservationId).toBe(reservation.reservationId);
    expect(Number(used.payload.usage?.inputTokens)).toBe((res.json.usage as Json).inputTokens);
    // The three rows were written together: the execution row exists with the same usage.
    const [row] = await gw.service.context.db.query<{ status: string; output_tokens: string }>(
      `SELECT status, output_tokens FROM executions WHERE id = $1`,
      [id],
    );
    expect(row).toMatchObject({ status: 'succeeded', output_tokens: String((res.json.usage as Json).outputTokens) });
  });

  it('labels offline output as produced without a model', async () => {
    const res = await run('/v1/agents/code-reviewer/commands/review_code', { inputs: REVIEW, provider: 'offline' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ provider: 'offline', model: 'offline', offline: true });
    expect(String(res.json.output).startsWith(OFFLINE_NOTICE)).toBe(true);
    expect(Object.keys(res.json.sections as object)).toEqual([
      'verdict',
      'blockers',
      'majors',
      'minor_and_nits',
      'strengths',
    ]);
    expect((await completedOf(res.json.id as string)).payload).toMatchObject({ offline: true, model: 'offline' });
  });

  it('runs a command asynchronously: 202 at once, then GET /v1/executions/:id', async () => {
    const res = await run('/v1/agents/coding/commands/write_code?async=true', {
      inputs: { feature: 'a CSV parser', language: 'Go' },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/executions/${res.json.id as string}`);
    const id = res.json.id as string;
    const view = await waitFor(
      async () => {
        const r = await gw.api(`/v1/executions/${id}`, { key: member.key });
        return r.json.status === 'succeeded' ? r.json : undefined;
      },
      { what: 'async execution' },
    );
    expect(view).toMatchObject({ agent: 'coding', command: 'write_code', provider: 'openai', model: 'gpt-5' });
    const other = await createUserWithKey(gw, 'ola@example.com', ['member']);
    expect((await gw.api(`/v1/executions/${id}`, { key: other.key })).status).toBe(404);
    expect((await gw.api(`/v1/executions/${id}`, { key: BOOTSTRAP_KEY })).status).toBe(200);
    expect((await gw.api(`/v1/executions/not-a-uuid`, { key: member.key })).json).toMatchObject({
      error: { field: 'id' },
    });
  });

  it('an Idempotency-Key makes a repeated request return the first execution', async () => {
    const calls = gw.fake.count();
    const key = randomUUID();
    const a = await run(
      '/v1/agents/coding/commands/write_code',
      { inputs: { feature: 'x', language: 'Go' } },
      member.key,
      { 'idempotency-key': key },
    );
    const b = await run(
      '/v1/agents/coding/commands/write_code',
      { inputs: { feature: 'x', language: 'Go' } },
      member.key,
      { 'idempotency-key': key },
    );
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.json.id).toBe(a.json.id);
    expect(gw.fake.count()).toBe(calls + 1);
  });

  describe('ExecutionRequested events', () => {
    const request = (over: Record<string, unknown> = {}) => ({
      executionId: randomUUID(),
      idempotencyKey: `run-1/step-a/${randomUUID()}`,
      runId: 'run-1',
      stepId: 'review',
      attempt: 1,
      userId: member.id,
      agent: 'code-reviewer',
      command: 'review_code',
      inputs: REVIEW,
      ...over,
    });

    it('runs the command and publishes ExecutionCompleted; a duplicate re-publishes it without calling the provider', async () => {
      const req = request();
      await gw.platform.eventBus.publish(Topics.ExecutionRequested, req, { key: 'run-1' });
      const first = await completedOf(req.executionId);
      expect(first.key).toBe('run-1');
      expect(first.payload).toMatchObject({
        status: ExecutionStatus.SUCCEEDED,
        idempotencyKey: req.idempotencyKey,
        runId: 'run-1',
        stepId: 'review',
        attempt: 1,
        provider: 'anthropic',
      });
      const calls = gw.fake.count();
      await gw.platform.eventBus.publish(
        Topics.ExecutionRequested,
        { ...req, executionId: randomUUID() },
        { key: 'run-1' },
      );
      const again = await waitFor(
        () => {
          const all = completed.filter((e) => e.payload.idempotencyKey === req.idempotencyKey);
          return all.length >= 2 ? all : undefined;
        },
        { what: 're-published ExecutionCompleted' },
      );
      expect(again[1].payload).toEqual(again[0].payload);
      expect(gw.fake.count()).toBe(calls);
      expect(usage.filter((e) => e.payload.requestId === req.executionId)).toHaveLength(1);
    });

    it('answers what cannot run with a failed ExecutionCompleted naming why', async () => {
      const forbidden = request({ agent: 'legal', command: 'review_contract', inputs: {} });
      const missing = request({ inputs: { code: 'x' } });
      const nonsense = request({ agent: '', command: '' });
      for (const r of [forbidden, missing, nonsense])
        await gw.platform.eventBus.publish(Topics.ExecutionRequested, r, { key: 'run-1' });
      expect((await completedOf(forbidden.executionId)).payload).toMatchObject({
        status: ExecutionStatus.FAILED,
        errorCode: 'permission_denied',
        retryable: false,
      });
      const m = (await completedOf(missing.executionId)).payload as { errorCode: string; errorMessage: string };
      expect(m).toMatchObject({ errorCode: 'invalid_input' });
      expect(m.errorMessage).toContain('inputs.language');
      expect((await completedOf(nonsense.executionId)).payload).toMatchObject({
        status: ExecutionStatus.FAILED,
        errorCode: 'invalid_input',
      });
      expect(
        gw.metering.reservations.some((x) => [forbidden, missing, nonsense].some((r) => r.executionId === x.requestId)),
      ).toBe(false);
    });
  });

  it('a provider failure before any tokens releases the reservation and records a failed execution', async () => {
    gw.fake.fail({ status: 400, message: 'unsupported parameter' }, { route: 'openai.chat' });
    const res = await run('/v1/agents/coding/commands/write_code', { inputs: { feature: 'x', language: 'Go' } });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error: { code: 'provider_error' } });
    const id = (res.json.error as { details: { executionId: string } }).details.executionId;
    expect(gw.metering.reservations.find((r) => r.requestId === id)).toMatchObject({ released: true });
    expect((await completedOf(id)).payload).toMatchObject({
      status: ExecutionStatus.FAILED,
      errorCode: 'provider_error',
      retryable: false,
    });
    expect(usage.some((e) => e.payload.requestId === id)).toBe(false);
  });

  it('falls back past a failing provider, opens its circuit (ProviderHealth), then closes it again', async () => {
    gw.fake.fail({ status: 503 }, { route: 'anthropic.messages', times: 3 });
    const res = await run('/v1/agents/code-reviewer/commands/review_code', { inputs: REVIEW });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ provider: 'offline', offline: true });
    const opened = await waitFor(
      () => health.find((e) => e.payload.provider === 'anthropic' && e.payload.state === CircuitState.OPEN),
      { what: 'ProviderHealth OPEN' },
    );
    expect(opened.payload).toMatchObject({ healthy: false });
    expect(opened.payload.error).toContain('503');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/hishamos_provider_circuit_state\{provider="anthropic"[^}]*\} 2/);
    // While open, calls skip it without reaching it.
    const calls = gw.fake.count('anthropic.messages');
    expect((await run('/v1/agents/code-reviewer/commands/review_code', { inputs: REVIEW })).json).toMatchObject({
      provider: 'offline',
    });
    expect(gw.fake.count('anthropic.messages')).toBe(calls);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await run('/v1/agents/code-reviewer/commands/review_code', { inputs: REVIEW })).json).toMatchObject({
      provider: 'anthropic',
    });
    await waitFor(
      () => health.find((e) => e.payload.provider === 'anthropic' && e.payload.state === CircuitState.CLOSED),
      { what: 'ProviderHealth CLOSED' },
    );
    expect(health.map((e) => e.payload.state)).toEqual([
      CircuitState.OPEN,
      CircuitState.HALF_OPEN,
      CircuitState.CLOSED,
    ]);
  });

  it('charges a client that disconnects mid-stream for the tokens produced', async () => {
    gw.fake.chunkDelayMs = 150;
    try {
      const abort = new AbortController();
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${member.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'openai/fake-gpt',
          messages: [{ role: 'user', content: 'a long story please' }],
          stream: true,
        }),
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-hishamos-execution-id')!;
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('Hello from')) text += new TextDecoder().decode((await reader.read()).value);
      abort.abort();
      const row = await waitFor(
        async () =>
          (
            await gw.service.context.db.query<{
              status: string;
              error_code: string;
              output_tokens: string;
              usage_estimated: boolean;
              reservation_id: string;
            }>(
              `SELECT status, error_code, output_tokens, usage_estimated, reservation_id FROM executions WHERE id = $1`,
              [id],
            )
          )[0],
        { what: 'the abandoned stream recorded' },
      );
      expect(row).toMatchObject({ status: 'failed', error_code: 'client_disconnected', usage_estimated: true });
      expect(Number(row.output_tokens)).toBeGreaterThan(0);
      const charged = await waitFor(() => usage.find((e) => e.payload.requestId === id), {
        what: 'UsageRecorded of the abandoned stream',
      });
      expect(Number(charged.payload.usage?.outputTokens)).toBe(Number(row.output_tokens));
      expect(gw.metering.reservations.find((r) => r.requestId === id)).toMatchObject({
        released: false,
        reservationId: row.reservation_id,
      });
      // The upstream stream was cut off, not read to the end.
      expect(gw.fake.requests.filter((r) => r.stream).length).toBeGreaterThan(0);
    } finally {
      gw.fake.chunkDelayMs = 0;
    }
  });

  describe('when usage-metering cannot answer', () => {
    afterEach(() => (gw.metering.failWith = 0));

    it('goes ahead unmetered only for users the gateway recently saw without a hard limit, else refuses (503)', async () => {
      const limited = await createUserWithKey(gw, 'lim@example.com', ['member']);
      gw.metering.hardLimits.set(limited.id, 100);
      const fresh = await createUserWithKey(gw, 'new@example.com', ['member']);
      for (const u of [member, limited]) {
        expect(
          (await run('/v1/chat/completions', { model: 'offline', messages: [{ role: 'user', content: 'x' }] }, u.key))
            .status,
        ).toBe(200);
        await waitFor(() => gw.metering.callers.some((c) => c.includes(`/spend/users/${u.id}`)), {
          what: 'spend view',
        });
      }
      await new Promise((r) => setTimeout(r, 50));
      gw.metering.failWith = 503;
      const ok = await run('/v1/chat/completions', { model: 'offline', messages: [{ role: 'user', content: 'x' }] });
      expect(ok.status).toBe(200);
      // USAGE_RECORD_BEFORE_RESPONSE: the (unmetered) call's record committed before the answer went out.
      const [row] = await gw.service.context.db.query<{ reservation_id: string | null; status: string }>(
        `SELECT reservation_id, status FROM executions WHERE id = $1`,
        [ok.headers.get('x-hishamos-execution-id')],
      );
      expect(row).toEqual({ reservation_id: null, status: 'succeeded' });
      for (const u of [limited, fresh]) {
        const refused = await run(
          '/v1/chat/completions',
          { model: 'offline', messages: [{ role: 'user', content: 'x' }] },
          u.key,
        );
        expect(refused.status).toBe(503);
        expect(refused.json).toMatchObject({ error: { code: 'budget_unavailable' } });
        expect(refused.headers.get('retry-after')).toBe('5');
      }
    });
  });

  it('resumes executions a crashed gateway left queued or running', async () => {
    const queued = randomUUID();
    const stale = randomUUID();
    const db = gw.service.context.db;
    const insert = `INSERT INTO executions (id, kind, status, idempotency_key, user_id, via, agent, command, request, lease_until, started_at)
                    VALUES ($1, 'command', $2, $3, $4, 'event', 'coding', 'write_code', $5::jsonb, $6, $7)`;
    const req = JSON.stringify({ inputs: { feature: 'resume me', language: 'Rust' } });
    await db.query(insert, [queued, 'queued', `crash-${queued}`, member.id, req, null, null]);
    await db.query(insert, [
      stale,
      'running',
      `crash-${stale}`,
      member.id,
      req,
      new Date(Date.now() - 1000).toISOString(),
      new Date().toISOString(),
    ]);
    await gw.service.app.get(ExecutionWorker).resume();
    for (const id of [queued, stale])
      expect((await completedOf(id)).payload).toMatchObject({
        status: ExecutionStatus.SUCCEEDED,
        command: 'write_code',
      });
  });

  it('uses a provider configured through the Platform Configuration API, its key read from the secrets service and re-read after a rotation', async () => {
    const upstream = await FakeProviderServer.start({ apiKey: 'local-key-v1' });
    try {
      expect(
        (await gw.api('/v1/providers/allowed-hosts', { key: BOOTSTRAP_KEY, body: { host: '127.0.0.1' } })).status,
      ).toBeLessThan(300);
      const created = await gw.api('/v1/providers', {
        key: BOOTSTRAP_KEY,
        body: {
          id: 'local-vllm',
          kind: 'openai-compatible',
          name: 'Local vLLM',
          baseUrl: upstream.openaiBaseUrl,
          defaultModel: 'fake-gpt',
          apiKey: 'local-key-v1',
        },
      });
      expect(created.status).toBe(201);
      expect(created.text).not.toContain('local-key-v1');
      const chat = () =>
        run('/v1/chat/completions', { model: 'local-vllm/fake-gpt', messages: [{ role: 'user', content: 'hi' }] });
      const first = await waitFor(
        async () => {
          const r = await chat();
          return r.status === 200 ? r : undefined;
        },
        { what: 'the new provider in use' },
      );
      expect(first.json).toMatchObject({ hishamos: { provider: 'local-vllm' } });
      expect(upstream.requests[upstream.requests.length - 1].headers.authorization).toBe('Bearer local-key-v1');
      // Rotation: the secrets service has a new version and the upstream accepts only it.
      const version = gw.secrets.rotate('ai/platforms/local-vllm', 'local-key-v2');
      upstream.apiKey = 'local-key-v2';
      await gw.platform.eventBus.publish(
        Topics.SecretRotated,
        { path: 'ai/platforms/local-vllm', version, rotatedBy: 'test' },
        { key: 'ai/platforms/local-vllm' },
      );
      const rotated = await waitFor(
        async () => {
          const r = await chat();
          return r.status === 200 ? r : undefined;
        },
        { what: 'the rotated key in use' },
      );
      expect(rotated.status).toBe(200);
      expect(upstream.requests[upstream.requests.length - 1].headers.authorization).toBe('Bearer local-key-v2');
      expect(gw.secrets.reads).toContain('ai/platforms/local-vllm');
      expect(gw.logs.join('\n')).not.toMatch(/local-key-v[12]/);
    } finally {
      await upstream.close();
    }
  });

  it('adds knowledge-base context to the prompt when asked (knowledgeTopK)', async () => {
    const doc = await gw.api('/v1/knowledge/documents', {
      key: BOOTSTRAP_KEY,
      body: {
        title: 'Review policy',
        content: 'Every pull request to the billing service needs two approvals and a passing canary deploy.',
      },
    });
    expect(doc.status).toBeLessThan(300);
    const res = await run('/v1/agents/code-reviewer/commands/review_code', {
      inputs: { code: 'billing service pull request approvals canary', language: 'Go' },
      knowledgeTopK: 2,
    });
    expect(res.status).toBe(200);
    expect(res.json.prompt).toContain('Context from the knowledge base');
    expect(res.json.prompt).toContain('two approvals and a passing canary deploy');
    expect(res.json.knowledgeSources).toEqual([expect.objectContaining({ title: 'Review policy' })]);
    const upstream = gw.fake.requests[gw.fake.requests.length - 1];
    expect(JSON.stringify(upstream.body)).toContain('two approvals');
  });

  it('offers the configured providers as knowledge-base embedders (KNOWLEDGE_EMBEDDER=<provider id>)', async () => {
    const registry = gw.service.app.get(EmbedderRegistry);
    expect(registry.ids()).toEqual(expect.arrayContaining(['hashing', 'openai', 'gemini']));
    expect(registry.has('anthropic')).toBe(false);
    const [vector] = await registry.get('openai').embed(['the billing service'], 'document');
    expect(vector).toHaveLength(1536);
    expect(gw.fake.requests[gw.fake.requests.length - 1]).toMatchObject({
      route: 'openai.embeddings',
      body: expect.objectContaining({ model: 'text-embedding-3-small', dimensions: 1536 }),
    });
  });

  it('exports the gateway metrics', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(
      /hishamos_agent_executions_total\{[^}]*agent="code-reviewer"[^}]*status="succeeded"[^}]*\} \d+/,
    );
    expect(text).toMatch(/hishamos_agent_executions_total\{[^}]*agent="legal"[^}]*status="failed"[^}]*\} 1/);
    expect(text).toMatch(/hishamos_active_agents\{[^}]*\} 15/);
    expect(text).toMatch(/hishamos_provider_request_duration_seconds_bucket\{[^}]*provider="openai"/);
    expect(text).toMatch(/hishamos_provider_time_to_first_token_seconds_bucket\{[^}]*provider="openai"/);
    expect(text).toMatch(/hishamos_llm_tokens_total\{[^}]*kind="output"/);
    expect(text).toMatch(/hishamos_gateway_overhead_seconds_bucket\{[^}]*endpoint="chat"/);
    expect(text).not.toContain(member.id);
  });
});
