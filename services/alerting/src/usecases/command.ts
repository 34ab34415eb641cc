import { validate } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { RuleValidationError } from '../domain/rule-definition';
import { ChannelConfigError } from '../channels/notification-channel';

/** Validates a use case's command object (class-validator); a bad one is a 400 naming the field. */
export async function validated<T extends object>(command: T): Promise<T> {
  const errors = await validate(command, { forbidUnknownValues: false });
  if (errors.length) throw ApiError.validation(errors);
  return command;
}

/** A rule that cannot be saved, as the API reports it: the field, the reason (with the position in an expression or template). */
export function ruleError(error: RuleValidationError): ApiError {
  return new ApiError(400, error.code, error.message, {
    field: error.field,
    reason: error.reason,
    details: error.position !== undefined ? { position: error.position } : undefined,
  });
}

/** A channel named by a rule vanished while the rule was being saved. */
export function missingChannel(names: string[], found: Set<string>): ApiError | undefined {
  const i = names.findIndex((n) => !found.has(n));
  if (i < 0) return undefined;
  return new ApiError(400, 'unknown_channel', `channels[${i}]: unknown channel '${names[i]}'`, {
    field: `channels[${i}]`,
    reason: `unknown channel '${names[i]}'`,
  });
}

export function channelConfigError(error: ChannelConfigError): ApiError {
  return new ApiError(400, 'invalid_channel_config', error.message, { field: error.field, reason: error.reason });
}

/** Opaque keyset cursor over (created_at, id). */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${new Date(at).toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (!cursor) return undefined;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(at ?? '');
  if (!id || Number.isNaN(date.getTime()) || !/^[0-9a-f-]{36}$/i.test(id))
    throw ApiError.badRequest('cursor', 'is not a cursor this API returned');
  return { at: date, id };
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string } };
  return e?.code === '23505' || e?.driverError?.code === '23505';
}
