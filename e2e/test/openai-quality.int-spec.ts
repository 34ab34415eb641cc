/*
 * Issue #12 section 2, second scenario: "the same through the OpenAI-compatible endpoint", quality
 * scores included. A streamed chat completion on an `agent/<slug>` model is published by the gateway as
 * an ExecutionCompleted (agent set, command empty) once the stream ends, and feedback-ml scores it
 * (no command template: completeness by generic structure signals; see services/feedback-ml/README.md).
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
    const { key } = await h.createMember('Quinn');
    const client = new OpenAI({ baseURL: `${h.url('agent-gateway')}/v1`, apiKey: key, maxRetries: 0 });
    // The gateway's agent roster is cached for 5 s and may predate the catalog seed of a first boot.
    await waitFor(async () => (await client.models.list()).data.some((m) => m.id === 'agent/customer-success'), {
      timeoutMs: 30000,
      what: 'agent/customer-success in /v1/models',
    });
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
