import { platformValidationPipe } from '@hishamos/platform';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** The gateway asks to hold the worst-case cost of one provider call (POST /internal/v1/reservations). */
export class ReserveBudgetCommand {
  /** The call's idempotency key: the same request gets the same reservation. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  requestId!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  userId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  teamId?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  provider!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  agent?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  command?: string;

  /** Prompt tokens (counted or estimated by the gateway). */
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  inputTokens!: number;

  /** The call's max_tokens: the most output it can be billed for. */
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  maxOutputTokens!: number;
}

const REQUIRED_TEXT: ReadonlyArray<readonly [keyof ReserveBudgetCommand, number]> = [
  ['requestId', 200],
  ['userId', 200],
  ['provider', 50],
  ['model', 200],
];
const OPTIONAL_TEXT: ReadonlyArray<readonly [keyof ReserveBudgetCommand, number]> = [
  ['teamId', 200],
  ['agent', 200],
  ['command', 200],
];
const FIELDS = new Set<string>([
  'requestId',
  'userId',
  'teamId',
  'provider',
  'model',
  'agent',
  'command',
  'inputTokens',
  'maxOutputTokens',
]);

function tokens(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100_000_000;
}

/**
 * The command when `body` is plainly valid, checked by hand (the hot path: no class-transformer, no
 * class-validator); undefined when it is not, or when in doubt (a null optional field, a string longer
 * than its limit in UTF-16 units, which class-validator may still accept): the caller then runs the
 * platform's ValidationPipe, which decides and words the 400 exactly as before. It never accepts what
 * the pipe refuses: every field is of its type and within its limits, and no other property is present.
 */
export function fastReserveBudgetCommand(body: unknown): ReserveBudgetCommand | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!FIELDS.has(key)) return undefined;
  const command = new ReserveBudgetCommand() as unknown as Record<string, unknown>;
  for (const [key, max] of REQUIRED_TEXT) {
    const v = b[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) return undefined;
    command[key] = v;
  }
  for (const [key, max] of OPTIONAL_TEXT) {
    const v = b[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length > max) return undefined;
    command[key] = v;
  }
  if (!tokens(b.inputTokens) || !tokens(b.maxOutputTokens)) return undefined;
  command.inputTokens = b.inputTokens;
  command.maxOutputTokens = b.maxOutputTokens;
  return command as unknown as ReserveBudgetCommand;
}

const pipe = platformValidationPipe();

/**
 * The validated command, as the global ValidationPipe would give it (the handler takes its body
 * untyped so that pipe skips it): the hand-written check first, the pipe itself for anything else,
 * so a bad body gets the very same 400 `validation_failed`.
 */
export function reserveBudgetCommandOf(body: unknown): ReserveBudgetCommand | Promise<ReserveBudgetCommand> {
  return (
    fastReserveBudgetCommand(body) ??
    (pipe.transform(body, { type: 'body', metatype: ReserveBudgetCommand }) as Promise<ReserveBudgetCommand>)
  );
}
