import { NonRetryableError } from '@hishamos/messaging';
import type { Envelope, Topics } from '@hishamos/contracts';

/** A usage record that can never be ingested (bad input): dead-lettered with the field and the reason. */
export class InvalidUsageRecordError extends NonRetryableError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid usage record: ${field}: ${reason}`, 'invalid_usage_record');
    this.name = 'InvalidUsageRecordError';
  }
}

/** A validated usage record, ready to be written. */
export interface UsageRecord {
  eventId: string;
  requestId: string;
  userId: string;
  teamId: string;
  agent: string;
  command: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  occurredAt: Date;
  runId: string;
  templateVersion: string;
  reservationId: string | null;
  streamed: boolean;
  currency: 'USD';
}

/** The most tokens one call can report (far above any context window; keeps counts exact in JS numbers). */
export const MAX_TOKENS = 1_000_000_000_000n;
/** A record stamped further than this in the future is taken as happening when it arrived (clock skew). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(field: string, value: string, opts: { required?: boolean; max: number }): string {
  const v = value.trim();
  if (opts.required && !v) throw new InvalidUsageRecordError(field, 'is required');
  if (v.length > opts.max) throw new InvalidUsageRecordError(field, `is longer than ${opts.max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(v)) throw new InvalidUsageRecordError(field, 'contains control characters');
  return v;
}

function tokens(field: string, value: bigint): number {
  if (value < 0n) throw new InvalidUsageRecordError(field, `must not be negative (got ${value})`);
  if (value > MAX_TOKENS) throw new InvalidUsageRecordError(field, `is implausibly large (${value})`);
  return Number(value);
}

/**
 * Validates and normalises one UsageRecorded event. input_tokens counts every prompt token, cached
 * ones included (OpenAI's convention); cached_input_tokens is the part billed at the cached price.
 * Throws InvalidUsageRecordError (non-retryable: the event goes to the DLQ with the reason).
 */
export function toUsageRecord(event: Envelope<typeof Topics.UsageRecorded>, receivedAt: Date): UsageRecord {
  const p = event.payload;
  const requestId = text('request_id', p.requestId, { required: true, max: 200 });
  const userId = text('user_id', p.userId, { required: true, max: 200 });
  const provider = text('provider', p.provider, { required: true, max: 50 });
  const model = text('model', p.model, { required: true, max: 200 });
  if (!p.usage) throw new InvalidUsageRecordError('usage', 'is required (token counts)');
  const inputTokens = tokens('usage.input_tokens', p.usage.inputTokens);
  const outputTokens = tokens('usage.output_tokens', p.usage.outputTokens);
  const cachedInputTokens = tokens('usage.cached_input_tokens', p.usage.cachedInputTokens);
  if (cachedInputTokens > inputTokens)
    throw new InvalidUsageRecordError(
      'usage.cached_input_tokens',
      `(${cachedInputTokens}) exceeds input_tokens (${inputTokens}); input_tokens must include cached tokens`,
    );
  const currency = p.currency.trim().toUpperCase();
  if (currency !== '' && currency !== 'USD')
    throw new InvalidUsageRecordError(
      'currency',
      `unknown or unsupported currency '${p.currency}': usage is priced in USD`,
    );
  const reservationId = p.reservationId.trim();
  if (reservationId && !UUID.test(reservationId))
    throw new InvalidUsageRecordError('reservation_id', 'is not a reservation id (UUID)');
  let occurredAt: Date;
  if (p.occurredAt) {
    const ms = Number(p.occurredAt.seconds) * 1000 + Math.floor(p.occurredAt.nanos / 1e6);
    if (!Number.isFinite(ms) || ms <= 0) throw new InvalidUsageRecordError('occurred_at', 'is not a valid time');
    occurredAt = new Date(ms);
  } else {
    const ce = event.attributes.time ? Date.parse(event.attributes.time) : NaN;
    occurredAt = Number.isFinite(ce) ? new Date(ce) : receivedAt;
  }
  if (Number.isNaN(occurredAt.getTime()) || occurredAt.getUTCFullYear() < 2000)
    throw new InvalidUsageRecordError('occurred_at', 'is not a valid time');
  if (occurredAt.getTime() > receivedAt.getTime() + MAX_FUTURE_SKEW_MS) occurredAt = receivedAt;
  return {
    eventId: text('ce_id', event.attributes.id, { max: 500 }),
    requestId,
    userId,
    teamId: text('team_id', p.teamId, { max: 200 }),
    agent: text('agent', p.agent, { max: 200 }),
    command: text('command', p.command, { max: 200 }),
    provider,
    model,
    inputTokens,
    outputTokens,
    cachedInputTokens,
    occurredAt,
    runId: text('run_id', p.runId, { max: 200 }),
    templateVersion: text('template_version', p.templateVersion, { max: 200 }),
    reservationId: reservationId ? reservationId.toLowerCase() : null,
    streamed: p.streamed,
    currency: 'USD',
  };
}
