import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../provider-error';
import type { ChatStreamEvent } from '../provider.types';
import { OpenAiProvider } from './openai.provider';

const chunk = (o: Record<string, unknown>) => ({ id: 'c1', object: 'chat.completion.chunk', model: 'm-1', ...o });
const frame = (o: unknown, eol = '\n') => `data: ${JSON.stringify(o)}${eol}${eol}`;

describe('OpenAiProvider streams', () => {
  let server: Server;
  let baseUrl: string;
  // The answer of the next call: pieces written one by one.
  let pieces: (string | Buffer)[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const out = [...pieces];
        const next = () => {
          const p = out.shift();
          if (p === undefined) return res.end();
          res.write(p);
          setTimeout(next, 2);
        };
        next();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const provider = (builtinFetch: boolean) =>
    new OpenAiProvider(
      'openai',
      'openai',
      { id: 'openai', kind: 'openai', apiKey: 'sk-test-0000000000', baseUrl, options: { builtinFetch } },
      { maxTokensField: 'max_completion_tokens' },
    );
  const request = { model: 'm-1', messages: [{ role: 'user' as const, content: 'hi' }] };

  async function run(builtinFetch: boolean): Promise<{ events: ChatStreamEvent[]; error?: ProviderError }> {
    const events: ChatStreamEvent[] = [];
    try {
      for await (const e of provider(builtinFetch).stream(request)) events.push(e);
      return { events };
    } catch (error) {
      return { events, error: error as ProviderError };
    }
  }

  it.each([false, true])('reads deltas, the finish and the usage the same way (builtinFetch %s)', async (builtin) => {
    const wire =
      frame(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }] })) +
      frame(chunk({ choices: [{ index: 0, delta: { content: 'lo é' }, finish_reason: null }] }), '\r\n') +
      ': keep-alive\n\n' +
      frame(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })) +
      frame(chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } })) +
      'data: [DONE]\n\n';
    const bytes = Buffer.from(wire);
    // Split at odd places, a multi-byte character and a CRLF included.
    const at = [7, wire.indexOf('é') + 1, wire.indexOf('\r') + 1, bytes.length - 5];
    pieces = [];
    let from = 0;
    for (const cut of [...at, bytes.length]) {
      pieces.push(bytes.subarray(from, cut));
      from = cut;
    }
    const { events, error } = await run(builtin);
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'delta', text: 'Hel' },
      { type: 'delta', text: 'lo é' },
      {
        type: 'done',
        id: 'c1',
        provider: 'openai',
        model: 'm-1',
        finishReason: 'length',
        usage: { inputTokens: 5, outputTokens: 2, cachedInputTokens: 0 },
        offline: false,
      },
    ]);
  });

  it.each([false, true])('fails on an error payload with the text so far (builtinFetch %s)', async (builtin) => {
    pieces = [
      frame(chunk({ choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] })) +
        frame({ error: { message: 'the model overloaded', type: 'server_error' } }),
    ];
    const { events, error } = await run(builtin);
    expect(events).toEqual([{ type: 'delta', text: 'Hel' }]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error!.message).toMatch(/overloaded/);
    expect(error!.extra.partialText).toBe('Hel');
  });

  it.each([false, true])('reports a stream cut before its end as incomplete (builtinFetch %s)', async (builtin) => {
    pieces = [frame(chunk({ choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] }))];
    const { events, error } = await run(builtin);
    expect(events).toEqual([{ type: 'delta', text: 'Hel' }]);
    expect(error?.kind).toBe('stream_interrupted');
  });
});
