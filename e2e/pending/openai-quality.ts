/*
 * PENDING (not matched by jest: run it with
 *   cd e2e && NODE_OPTIONS=--experimental-vm-modules npx jest --runInBand --testMatch '<rootDir>/pending/*.ts' pending/openai-quality.ts
 * ) — issue #12 section 2, second scenario: "the same through the OpenAI-compatible endpoint", where
 * "the same" includes quality scores.
 *
 * What is missing: agent-gateway records chat completions with `completed: false`
 * (CreateChatCompletionUseCase -> ExecutionRecorder), so no ExecutionCompleted is published for them,
 * even for `agent/<slug>` models; feedback-ml never sees those outputs and scores none of them. The
 * usage rows, cost and GET /v1/executions/:id work (test/platform.int-spec.ts checks them).
 * Needed: an ExecutionCompleted (agent set, command empty or a chat marker) for agent-model
 * completions, and feedback-ml scoring outputs that have no command template (or a documented
 * decision that chat completions are not scored, and this scenario dropped from the issue).
 */
import OpenAI from 'openai';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { Harness } from '../src';

describe('quality scores for completions through the OpenAI-compatible endpoint', () => {
  let fake: FakeProviderServer;
  let h: Harness;

  beforeAll(async () => {
    fake = await FakeProviderServer.start();
    h = new Harness({
      env: { 'agent-gateway': { OPENAI_API_KEY: 'sk-e2e-quality-0123456789', OPENAI_BASE_URL: fake.openaiBaseUrl } },
    });
    await h.start(['agent-gateway', 'usage-metering', 'feedback-ml', 'secrets']);
  }, 600000);
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  it('scores a streamed agent completion', async () => {
    const user = await h.api().expect<{ id: string }>(201, 'POST', '/v1/users', {
      email: `quinn-${h.runId}@e2e.example.com`,
      name: 'Quinn',
      roles: ['member'],
    });
    const { key } = await h.api().expect<{ key: string }>(201, 'POST', '/v1/api-keys', { name: 'q', userId: user.id });
    const client = new OpenAI({ baseURL: `${h.url('agent-gateway')}/v1`, apiKey: key, maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'agent/customer-success',
        messages: [{ role: 'user', content: 'A customer cannot pay since 14:05. Draft a reply.' }],
        stream: true,
      })
      .withResponse();
    for await (const chunk of stream) void chunk;
    const id = response.headers.get('x-hishamos-execution-id');
    const rows = await waitFor(
      async () => {
        const r = await h.sql(`SELECT total::text FROM feedback_ml.quality_scores WHERE execution_id = $1`, [id]);
        return r.length ? r : undefined;
      },
      { timeoutMs: 30000, what: `a quality score for execution ${id}` },
    );
    expect(Number(rows[0].total)).toBeGreaterThan(0);
  });
});
