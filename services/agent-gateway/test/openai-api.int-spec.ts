import OpenAI from 'openai';
import { ExecutionStatus, Topics, type Envelope } from '@hishamos/contracts';
import { waitFor } from '@hishamos/testing';
import { BOOTSTRAP_KEY, createUserWithKey, startTestGateway, type TestGateway } from './execution-harness';

jest.setTimeout(180000);

/**
 * The official `openai` npm client as a client of HishamOS's /v1: completions (plain and streamed),
 * models, and the errors it must show (401 wrong key, 403 forbidden agent, 429 over budget); plus bad
 * input over raw HTTP, each a clear 4xx naming the field, with nothing recorded as spent.
 */
describe('the OpenAI-compatible API with the official openai client', () => {
  let gw: TestGateway;
  let member: { id: string; key: string };
  let viewer: { id: string; key: string };
  let broke: { id: string; key: string };
  let usage: Envelope<typeof Topics.UsageRecorded>[];
  let completed: Envelope<typeof Topics.ExecutionCompleted>[];
  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });

  beforeAll(async () => {
    gw = await startTestGateway();
    member = await createUserWithKey(gw, 'mia@example.com', ['member']);
    viewer = await createUserWithKey(gw, 'vic@example.com', ['viewer']);
    broke = await createUserWithKey(gw, 'bo@example.com', ['member']);
    gw.metering.hardLimits.set(broke.id, 0);
    const toggle = await gw.api(`/v1/users/${member.id}/agents`, {
      method: 'PUT',
      key: BOOTSTRAP_KEY,
      body: { agents: [{ slug: 'legal', allowed: false }] },
    });
    expect(toggle.status).toBe(200);
    usage = await gw.capture(Topics.UsageRecorded);
    completed = await gw.capture(Topics.ExecutionCompleted);
  });
  afterAll(async () => gw?.stop());

  /** Everything the gateway has recorded as spent: reservations held and usage rows/events. */
  async function spent() {
    const rows = await gw.service.context.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM executions WHERE input_tokens > 0 OR output_tokens > 0`,
    );
    const outbox = await gw.service.context.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM outbox WHERE topic = $1`,
      [Topics.UsageRecorded],
    );
    return {
      rows: Number(rows[0].n),
      heldReservations: gw.metering.reservations.filter((r) => !r.released).length,
      reservations: gw.metering.reservations.length,
      usageEvents: usage.length + Number(outbox[0].n),
    };
  }

  it('answers a completion for an agent model with its system prompt, the provider usage and a reservation', async () => {
    const res = await client(member.key).chat.completions.create({
      model: 'agent/coding',
      messages: [{ role: 'user', content: 'Say hello' }],
      max_tokens: 50,
    });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('agent/coding');
    expect(res.choices[0].message.content).toContain('Hello from the fake provider (gpt-5)');
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
    const upstream = gw.fake.requests[gw.fake.requests.length - 1];
    expect(upstream.route).toBe('openai.chat');
    const messages = upstream.body?.messages as { role: string; content: string }[];
    expect(messages[0].role).toBe('system');
    expect(messages[0].content).toContain('Role:');
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-fake-key-0001');
    const executionId = res.id.replace('chatcmpl-', '');
    const reservation = gw.metering.reservations.find((r) => r.requestId === executionId);
    expect(reservation).toMatchObject({
      userId: member.id,
      provider: 'openai',
      model: 'gpt-5',
      agent: 'coding',
      maxOutputTokens: 50,
    });
    const event = await waitFor(() => usage.find((e) => e.payload.requestId === executionId), {
      what: 'UsageRecorded',
    });
    expect(event.key).toBe(member.id);
    expect(event.payload).toMatchObject({
      userId: member.id,
      provider: 'openai',
      model: 'gpt-5',
      agent: 'coding',
      reservationId: reservation!.reservationId,
    });
    expect(Number(event.payload.usage?.inputTokens)).toBe(res.usage?.prompt_tokens);
    expect(Number(event.payload.usage?.outputTokens)).toBe(res.usage?.completion_tokens);
  });

  it('routes each agent to its own vendor (Anthropic, Gemini) and exact models to their provider', async () => {
    const legal = await client(BOOTSTRAP_KEY).chat.completions.create({
      model: 'agent/legal',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(gw.fake.requests[gw.fake.requests.length - 1]).toMatchObject({
      route: 'anthropic.messages',
      model: 'claude-opus-4-1',
    });
    expect(legal.choices[0].message.content).toBeTruthy();
    await client(member.key).chat.completions.create({
      model: 'agent/hr',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(gw.fake.requests[gw.fake.requests.length - 1]).toMatchObject({
      route: 'gemini.generate',
      model: 'gemini-2.5-pro',
    });
    const exact = await client(member.key).chat.completions.create({
      model: 'anthropic/fake-claude',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(exact.model).toBe('anthropic/fake-claude');
    expect(gw.fake.requests[gw.fake.requests.length - 1]).toMatchObject({
      route: 'anthropic.messages',
      model: 'fake-claude',
    });
  });

  it('streams with the openai client and reports the usage at the end', async () => {
    const stream = await client(member.key).chat.completions.create({
      model: 'openai/fake-gpt',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let last: OpenAI.Chat.Completions.ChatCompletionChunk | undefined;
    let finish: string | null = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      last = chunk;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe('Hello from the fake provider (fake-gpt). This answer has a few words in it.');
    expect(finish).toBe('stop');
    expect(last?.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(last?.choices).toEqual([]);
    const upstream = gw.fake.requests[gw.fake.requests.length - 1];
    expect(upstream.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const id = last!.id.replace('chatcmpl-', '');
    const event = await waitFor(() => usage.find((e) => e.payload.requestId === id), {
      what: 'UsageRecorded of the stream',
    });
    expect(event.payload.streamed).toBe(true);
    expect(Number(event.payload.usage?.outputTokens)).toBe(last?.usage?.completion_tokens);
  });

  describe('ExecutionCompleted for agent-model completions (so feedback-ml scores them)', () => {
    const completedOf = (id: string) =>
      waitFor(() => completed.find((e) => e.payload.executionId === id), { what: `ExecutionCompleted ${id}` });

    it('publishes the answer of a completion on agent/<slug>: agent set, no command, no run', async () => {
      const res = await client(member.key).chat.completions.create({
        model: 'agent/coding',
        messages: [
          { role: 'user', content: 'Say hello' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'Again, please' },
        ],
      });
      const id = res.id.replace('chatcmpl-', '');
      const event = await completedOf(id);
      expect(event.key).toBe(member.id);
      expect(event.payload).toMatchObject({
        executionId: id,
        idempotencyKey: '',
        runId: '',
        stepId: '',
        userId: member.id,
        agent: 'coding',
        command: '',
        status: ExecutionStatus.SUCCEEDED,
        output: res.choices[0].message.content,
        provider: 'openai',
        model: 'gpt-5',
        templateVersion: '',
        offline: false,
        prompt: 'user: Say hello\n\nassistant: Hello!\n\nuser: Again, please',
      });
      expect(Number(event.payload.usage?.outputTokens)).toBe(res.usage?.completion_tokens);
      // The agent's system prompt is not part of what is published.
      expect(event.payload.prompt).not.toContain('Role:');
    });

    it('publishes a streamed one once the stream has ended, with the text streamed', async () => {
      const stream = await client(member.key).chat.completions.create({
        model: 'agent/customer-success',
        messages: [{ role: 'user', content: 'A customer cannot pay. Draft a reply.' }],
        stream: true,
      });
      let text = '';
      let id = '';
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        id = chunk.id.replace('chatcmpl-', '');
      }
      expect((await completedOf(id)).payload).toMatchObject({
        agent: 'customer-success',
        command: '',
        status: ExecutionStatus.SUCCEEDED,
        output: text,
        prompt: 'A customer cannot pay. Draft a reply.',
      });
    });

    it('publishes a stream the client abandoned as failed (client_disconnected) with what was produced', async () => {
      gw.fake.chunkDelayMs = 150;
      try {
        const abort = new AbortController();
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${member.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'agent/coding',
            messages: [{ role: 'user', content: 'a long story please' }],
            stream: true,
          }),
          signal: abort.signal,
        });
        const id = res.headers.get('x-hishamos-execution-id')!;
        const reader = res.body!.getReader();
        let text = '';
        while (!text.includes('Hello from')) text += new TextDecoder().decode((await reader.read()).value);
        abort.abort();
        const event = await completedOf(id);
        expect(event.payload).toMatchObject({
          agent: 'coding',
          command: '',
          status: ExecutionStatus.FAILED,
          errorCode: 'client_disconnected',
        });
        expect(event.payload.output).toContain('Hello from');
        expect(event.payload.output.length).toBeLessThan(
          'Hello from the fake provider (gpt-5). This answer has a few words in it.'.length,
        );
      } finally {
        gw.fake.chunkDelayMs = 0;
      }
    });

    it('publishes none for a plain provider model (usage only)', async () => {
      const res = await client(member.key).chat.completions.create({
        model: 'openai/fake-gpt',
        messages: [{ role: 'user', content: 'hi' }],
      });
      const id = res.id.replace('chatcmpl-', '');
      await waitFor(() => usage.find((e) => e.payload.requestId === id), { what: 'UsageRecorded' });
      // An agent completion made after it is published: by then the plain one would have been too.
      const after = await client(member.key).chat.completions.create({
        model: 'agent/coding',
        messages: [{ role: 'user', content: 'hi' }],
      });
      await completedOf(after.id.replace('chatcmpl-', ''));
      expect(completed.some((e) => e.payload.executionId === id)).toBe(false);
    });
  });

  it('creates embeddings with the openai client (float and base64), metered like completions', async () => {
    const res = await client(member.key).embeddings.create({
      model: 'openai/fake-embed',
      input: ['alpha beta', 'gamma'],
    });
    expect(res.data).toHaveLength(2);
    expect(res.data[0].embedding).toHaveLength(8);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    const float = await gw.api('/v1/embeddings', {
      key: member.key,
      body: { model: 'openai/fake-embed', input: 'alpha beta', encoding_format: 'float' },
    });
    const b64 = await gw.api('/v1/embeddings', {
      key: member.key,
      body: { model: 'openai/fake-embed', input: 'alpha beta', encoding_format: 'base64' },
    });
    const bytes = Buffer.from((b64.json.data as { embedding: string }[])[0].embedding, 'base64');
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    expect(decoded.map((x) => Math.round(x * 1e4))).toEqual(
      (float.json.data as { embedding: number[] }[])[0].embedding.map((x) => Math.round(x * 1e4)),
    );
    const id = float.headers.get('x-hishamos-execution-id')!;
    await waitFor(() => usage.find((e) => e.payload.requestId === id), { what: 'UsageRecorded of embeddings' });
    const offline = await gw.api('/v1/embeddings', {
      key: member.key,
      body: { model: 'offline', input: ['x'], dimensions: 16 },
    });
    expect(offline.status).toBe(200);
    expect((offline.json.data as { embedding: number[] }[])[0].embedding).toHaveLength(16);
  });

  it('lists provider models and the agents the caller may use', async () => {
    const ids = (await client(member.key).models.list()).data.map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'openai/fake-gpt',
        'anthropic/fake-claude',
        'gemini/fake-gemini',
        'agent/coding',
        'agent/finance',
      ]),
    );
    expect(ids).not.toContain('agent/legal');
    const admin = (await client(BOOTSTRAP_KEY).models.list()).data.map((m) => m.id);
    expect(admin).toContain('agent/legal');
    expect(admin.filter((id) => id.startsWith('agent/'))).toHaveLength(15);
  });

  it('answers a wrong key with 401', async () => {
    const err = await client(`hos_wrong000_${'x'.repeat(40)}`)
      .models.list()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
  });

  it('answers a forbidden agent with 403 naming it, without reserving anything', async () => {
    const before = await spent();
    const err = await client(member.key)
      .chat.completions.create({ model: 'agent/legal', messages: [{ role: 'user', content: 'review this' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const e = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect(e.code ?? (e.error as { code?: string }).code).toBe('forbidden_agent');
    expect(e.message).toContain('legal');
    expect(await spent()).toEqual(before);
    const viewerErr = await client(viewer.key)
      .chat.completions.create({ model: 'openai/fake-gpt', messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    expect((viewerErr as { status?: number }).status).toBe(403);
  });

  it('answers over budget with 429 and a message naming the budget, calling no provider', async () => {
    const calls = gw.fake.count();
    const err = await client(broke.key)
      .chat.completions.create({ model: 'agent/coding', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.message).toContain('over budget: the daily budget of user');
    expect((e.error as { code?: string }).code).toBe('budget_exceeded');
    expect(gw.fake.count()).toBe(calls);
    const raw = await gw.api('/v1/chat/completions', {
      key: broke.key,
      body: { model: 'agent/coding', messages: [{ role: 'user', content: 'hi' }], stream: true },
    });
    expect(raw.status).toBe(429);
  });

  describe('bad input: a clear 4xx with the field and reason, nothing recorded as spent', () => {
    let before: Awaited<ReturnType<typeof spent>>;
    beforeAll(async () => {
      await waitFor(async () => (await spent()).usageEvents === usage.length || undefined, {
        what: 'outbox drained',
      }).catch(() => undefined);
      before = await spent();
    });
    afterAll(async () => {
      expect(await spent()).toEqual(before);
    });
    const post = (path: string, body: string | object, key = member.key, headers: Record<string, string> = {}) =>
      gw.api(path, { key, body, headers });

    it('malformed JSON', async () => {
      const res = await post('/v1/chat/completions', '{"model": "agent/coding", "messages": [');
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({
        error: { code: 'malformed_json', field: 'body', type: 'malformed_json', param: 'body' },
      });
    });

    it('an unknown model (OpenAI shape: 404 with param model)', async () => {
      const err = await client(member.key)
        .chat.completions.create({ model: 'gpt-nonexistent', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as InstanceType<typeof OpenAI.NotFoundError>).param).toBe('model');
      const agent = await post('/v1/chat/completions', {
        model: 'agent/nobody',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(agent.status).toBe(404);
      expect(agent.json).toMatchObject({ error: { code: 'model_not_found', field: 'model' } });
    });

    it('an oversized body', async () => {
      const res = await post('/v1/chat/completions', {
        model: 'agent/coding',
        messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }],
      });
      expect(res.status).toBe(413);
      expect(res.json).toMatchObject({ error: { code: 'body_too_large', field: 'body' } });
    });

    it('invalid fields of a completion', async () => {
      const empty = await post('/v1/chat/completions', { model: 'agent/coding', messages: [] });
      expect(empty.status).toBe(400);
      expect(empty.json).toMatchObject({ error: { code: 'validation_failed', field: 'messages' } });
      const role = await post('/v1/chat/completions', {
        model: 'agent/coding',
        messages: [{ role: 'wizard', content: 'x' }],
      });
      expect(role.json).toMatchObject({ error: { field: 'messages.0.role' } });
      const temp = await post('/v1/chat/completions', {
        model: 'agent/coding',
        messages: [{ role: 'user', content: 'x' }],
        temperature: 7,
      });
      expect(temp.json).toMatchObject({ error: { field: 'temperature' } });
      const content = await post('/v1/chat/completions', {
        model: 'agent/coding',
        messages: [{ role: 'user', content: 42 }],
      });
      expect(content.status).toBe(400);
      expect(content.json).toMatchObject({ error: { field: 'messages.0.content' } });
    });

    it('missing and unknown template variables name the variable', async () => {
      const missing = await post('/v1/agents/coding/commands/write_code', { inputs: { feature: 'a parser' } });
      expect(missing.status).toBe(400);
      expect(missing.json).toMatchObject({
        error: { code: 'invalid_input', field: 'inputs.language', reason: 'required input is missing' },
      });
      const unknown = await post('/v1/agents/coding/commands/write_code', {
        inputs: { feature: 'x', language: 'Go', colour: 'red' },
      });
      expect(unknown.status).toBe(400);
      expect(unknown.json).toMatchObject({ error: { field: 'inputs.colour' } });
      expect((unknown.json.error as { reason: string }).reason).toContain('unknown input');
      const wrongType = await post('/v1/agents/coding/commands/write_code', {
        inputs: { feature: 42, language: 'Go' },
      });
      expect(wrongType.status).toBe(400);
      expect(wrongType.json).toMatchObject({ error: { field: 'inputs.feature' } });
      const noCommand = await post('/v1/agents/coding/commands/no_such_command', { inputs: {} });
      expect(noCommand.status).toBe(404);
      expect(noCommand.json).toMatchObject({ error: { code: 'command_not_found', field: 'command' } });
      const async = await post('/v1/agents/coding/commands/write_code?async=true', { inputs: {} });
      expect(async.status).toBe(400);
      expect(async.json).toMatchObject({ error: { field: 'inputs.feature' } });
    });

    it('invalid API key formats', async () => {
      for (const key of ['hos_short', 'sk-not-ours', `hos_UPPER000_${'a'.repeat(40)}`]) {
        const res = await gw.api('/v1/models', { key });
        expect(res.status).toBe(401);
        expect(res.json).toMatchObject({ error: { status: 401, code: 'invalid_api_key', field: 'authorization' } });
        expect(String((res.json.error as { reason: string }).reason).length).toBeGreaterThan(5);
        expect(res.text).not.toContain(key);
      }
      const noBearer = await gw.api('/v1/models', { headers: { authorization: 'Basic abc' } });
      expect(noBearer.status).toBe(401);
    });
  });
});
