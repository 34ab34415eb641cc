import { platformValidationPipe } from '@hishamos/platform';
import { CreateChatCompletionCommand } from './create-chat-completion.usecase';

/**
 * The body of `POST /v1/chat/completions`, checked without class-validator on the hot path.
 *
 * A body is accepted here only when CreateChatCompletionCommand's rules (with the platform pipe's
 * whitelist/forbidNonWhitelisted) would accept it too: every check below is as strict as the decorator
 * it stands for, or stricter. Anything it does not accept goes through the same ValidationPipe as every
 * other route, so a refused body gets exactly the 400 it always got (status, code, field, reason,
 * details). chat-completion-body.spec.ts keeps the two in step with the DTO's decorators.
 */

/** The global pipe (libs/platform), for bodies the fast path does not accept. */
const pipe = platformValidationPipe();

const ROLES: ReadonlySet<unknown> = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

type Check = (v: unknown) => boolean;

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};
const absent = (v: unknown) => v === undefined || v === null;
const anything: Check = () => true;
const optionalBoolean: Check = (v) => absent(v) || typeof v === 'boolean';
/** class-validator's MaxLength counts a surrogate pair as one character: `.length` is never smaller. */
const stringUpTo =
  (max: number): Check =>
  (v) =>
    typeof v === 'string' && v.length <= max;
const optionalStringUpTo = (max: number): Check => {
  const s = stringUpTo(max);
  return (v) => absent(v) || s(v);
};
const optionalIntIn =
  (min: number, max: number): Check =>
  (v) =>
    absent(v) || (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max);
const optionalNumberIn =
  (min: number, max: number): Check =>
  (v) =>
    absent(v) || (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max);

function checkAll(o: Record<string, unknown>, rules: Record<string, Check>, required: readonly string[]): boolean {
  for (const key of required) if (!(key in o)) return false;
  for (const key of Object.keys(o)) {
    const rule = Object.prototype.hasOwnProperty.call(rules, key) ? rules[key] : undefined;
    if (rule === undefined || !rule(o[key])) return false;
  }
  return true;
}

/** ChatMessageDto. */
const MESSAGE_RULES: Record<string, Check> = {
  role: (v) => ROLES.has(v),
  content: (v) => !absent(v),
  name: optionalStringUpTo(100),
  tool_call_id: anything,
  tool_calls: anything,
};
const MESSAGE_REQUIRED = ['role', 'content'] as const;

/** StreamOptionsDto. */
const STREAM_OPTIONS_RULES: Record<string, Check> = { include_usage: optionalBoolean };

/** CreateChatCompletionCommand. */
const RULES: Record<string, Check> = {
  model: stringUpTo(200),
  messages: (v) =>
    Array.isArray(v) &&
    v.length >= 1 &&
    v.length <= 2000 &&
    v.every((m) => isPlainObject(m) && checkAll(m, MESSAGE_RULES, MESSAGE_REQUIRED)),
  stream: optionalBoolean,
  stream_options: (v) => absent(v) || (isPlainObject(v) && checkAll(v, STREAM_OPTIONS_RULES, [])),
  max_tokens: optionalIntIn(1, 1_000_000),
  max_completion_tokens: optionalIntIn(1, 1_000_000),
  temperature: optionalNumberIn(0, 2),
  top_p: optionalNumberIn(0, 1),
  stop: anything,
  n: optionalIntIn(1, 1),
  user: optionalStringUpTo(256),
  presence_penalty: anything,
  frequency_penalty: anything,
  seed: anything,
  logit_bias: anything,
  metadata: anything,
  store: anything,
  parallel_tool_calls: anything,
  service_tier: anything,
  reasoning_effort: anything,
};
const REQUIRED = ['model', 'messages'] as const;

/** The properties the fast path knows, per DTO (the spec compares them with the decorators). */
export const FAST_PATH_PROPERTIES = {
  CreateChatCompletionCommand: Object.keys(RULES),
  ChatMessageDto: Object.keys(MESSAGE_RULES),
  StreamOptionsDto: Object.keys(STREAM_OPTIONS_RULES),
};

/** Whether the fast path accepts the body as it is (false: let class-validator decide). */
export function acceptsChatCompletionBody(body: unknown): body is CreateChatCompletionCommand {
  return isPlainObject(body) && checkAll(body, RULES, REQUIRED);
}

/**
 * The chat completion command of a request body: the body itself when the fast path accepts it, else
 * what the platform's ValidationPipe makes of it (the same command, or the same ApiError 400).
 */
export async function parseChatCompletionBody(body: unknown): Promise<CreateChatCompletionCommand> {
  if (acceptsChatCompletionBody(body)) return body;
  return (await pipe.transform(body, {
    type: 'body',
    metatype: CreateChatCompletionCommand,
    data: undefined,
  })) as CreateChatCompletionCommand;
}
