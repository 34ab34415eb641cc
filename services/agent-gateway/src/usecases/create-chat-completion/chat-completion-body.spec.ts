import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { acceptsChatCompletionBody, FAST_PATH_PROPERTIES, parseChatCompletionBody } from './chat-completion-body';
import { ChatMessageDto, CreateChatCompletionCommand, StreamOptionsDto } from './create-chat-completion.usecase';

/** The platform's global pipe, as libs/platform platform-runtime.ts configures it: what decided before. */
const reference = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  exceptionFactory: (errors) => ApiError.validation(errors),
});

async function viaPipe(body: unknown): Promise<{ ok: true } | { ok: false; status: number; body: unknown }> {
  try {
    await reference.transform(body, { type: 'body', metatype: CreateChatCompletionCommand, data: undefined });
    return { ok: true };
  } catch (e) {
    const err = e as ApiError;
    return { ok: false, status: err.status, body: err.body() };
  }
}

async function viaParse(body: unknown): Promise<{ ok: true } | { ok: false; status: number; body: unknown }> {
  try {
    await parseChatCompletionBody(body);
    return { ok: true };
  } catch (e) {
    const err = e as ApiError;
    return { ok: false, status: err.status, body: err.body() };
  }
}

const valid = () => ({
  model: 'agent/coding',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello', name: 'ann' },
    { role: 'assistant', content: [{ type: 'text', text: 'hi' }], tool_calls: [], tool_call_id: null },
  ],
  stream: true,
  stream_options: { include_usage: true },
  max_tokens: 100,
  max_completion_tokens: 1_000_000,
  temperature: 0.7,
  top_p: 1,
  stop: ['\n'],
  n: 1,
  user: 'u-1',
  presence_penalty: 0,
  frequency_penalty: 0,
  seed: 3,
  logit_bias: { '50256': -100 },
  metadata: { a: 'b' },
  store: false,
  parallel_tool_calls: true,
  service_tier: 'auto',
  reasoning_effort: 'low',
});

/** Odd values for any field. */
const ODD: unknown[] = [
  undefined,
  null,
  '',
  'x',
  'x'.repeat(101),
  'x'.repeat(201),
  'x'.repeat(257),
  '😀'.repeat(150),
  0,
  -1,
  0.5,
  1,
  2,
  2.5,
  1_000_001,
  true,
  'true',
  [],
  ['a'],
  {},
  { include_usage: 'yes' },
  { include_usage: false, other: 1 },
  [{}],
];

describe('the chat completion body fast path', () => {
  it('accepts a full, valid body and a minimal one, as the pipe does', async () => {
    for (const body of [valid(), { model: 'm', messages: [{ role: 'user', content: 'hi' }] }]) {
      expect(acceptsChatCompletionBody(body)).toBe(true);
      expect(await viaPipe(body)).toEqual({ ok: true });
      await expect(parseChatCompletionBody(body)).resolves.toBe(body);
    }
  });

  it('refuses common bad input with the same 400 as before (status, field, reason, details)', async () => {
    const cases: [unknown, string][] = [
      [{ model: 'm', messages: [] }, 'messages'],
      [{ model: 'm' }, 'messages'],
      [{ messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      [{ model: 'm', messages: [{ role: 'robot', content: 'hi' }] }, 'messages.0.role'],
      [{ model: 'm', messages: [{ role: 'user' }] }, 'messages.0.content'],
      [{ model: 'm', messages: [{ role: 'user', content: null }] }, 'messages.0.content'],
      [{ model: 'm', messages: [{ role: 'user', content: 'hi', extra: 1 }] }, 'messages.0.extra'],
      [{ model: 'm', messages: ['hi'] }, 'messages.0'],
      [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 3 }, 'temperature'],
      [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 }, 'max_tokens'],
      [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], n: 2 }, 'n'],
      [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: 'yes' }, 'stream'],
      [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream_options: { x: 1 } }, 'stream_options.x'],
      [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [] }, 'tools'],
      [{ model: 'x'.repeat(201), messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      ['not an object', 'model'],
      [null, 'model'],
    ];
    for (const [body, field] of cases) {
      expect(acceptsChatCompletionBody(body)).toBe(false);
      const before = await viaPipe(body);
      const now = await viaParse(body);
      expect(now).toEqual(before);
      expect(now).toMatchObject({
        ok: false,
        status: 400,
        body: { error: { code: 'validation_failed', field } },
      });
    }
  });

  it('never accepts what the pipe refuses, and decides as it does, for every field set to odd values', async () => {
    const paths: ((b: ReturnType<typeof valid>, v: unknown) => void)[] = [
      ...Object.keys(valid()).map((k) => (b: Record<string, unknown>, v: unknown) => (b[k] = v)),
      ...['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'other'].map(
        (k) => (b: ReturnType<typeof valid>, v: unknown) => ((b.messages[1] as Record<string, unknown>)[k] = v),
      ),
      (b, v) => ((b.stream_options as Record<string, unknown>).include_usage = v),
      (b, v) => ((b as Record<string, unknown>).unknown_field = v),
      (b, v) => ((b.messages as unknown[])[0] = v),
    ];
    let accepted = 0;
    for (const set of paths)
      for (const v of ODD) {
        const body = valid();
        set(body, v);
        const fast = acceptsChatCompletionBody(body);
        const before = await viaPipe(body);
        if (fast) {
          accepted++;
          expect({ body, result: before }).toEqual({ body, result: { ok: true } });
        }
        expect({ body, result: await viaParse(body) }).toEqual({ body, result: before });
      }
    expect(accepted).toBeGreaterThan(50);
  });

  it('knows every property of the DTOs, and their rules have not changed since it was written', () => {
    const rules = (cls: new () => unknown) => {
      const out: Record<string, string[]> = {};
      for (const m of getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false)) {
        const name = m.name ?? m.type;
        const c = m.constraints?.filter((x) => typeof x !== 'function') ?? [];
        (out[m.propertyName] ??= []).push(`${name}${c.length ? JSON.stringify(c) : ''}${m.each ? ' each' : ''}`);
      }
      for (const k of Object.keys(out)) out[k].sort();
      return out;
    };
    const command = rules(CreateChatCompletionCommand);
    const message = rules(ChatMessageDto);
    const options = rules(StreamOptionsDto);
    expect(Object.keys(command).sort()).toEqual([...FAST_PATH_PROPERTIES.CreateChatCompletionCommand].sort());
    expect(Object.keys(message).sort()).toEqual([...FAST_PATH_PROPERTIES.ChatMessageDto].sort());
    expect(Object.keys(options).sort()).toEqual([...FAST_PATH_PROPERTIES.StreamOptionsDto].sort());
    // A change here means chat-completion-body.ts must change with it.
    expect({ command, message, options }).toMatchSnapshot();
  });
});
