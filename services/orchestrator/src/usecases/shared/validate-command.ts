import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ApiError, type Identity } from '@hishamos/platform';

/** Builds a use case's command from plain values and validates it; throws ApiError 400 naming the field. */
export async function validCommand<T extends object>(cls: new () => T, plain: object): Promise<T> {
  const command = plainToInstance(cls, plain);
  const errors = await validate(command, { forbidUnknownValues: false });
  if (errors.length > 0) throw ApiError.validation(errors);
  return command;
}

/** Admins and operators see and act on every run; others on their own; services on all. */
export function isPrivileged(identity: Identity): boolean {
  return identity.kind === 'service' || identity.roles.includes('admin') || identity.roles.includes('operator');
}

export function canSeeRun(identity: Identity, run: { user_id: string }): boolean {
  return isPrivileged(identity) || identity.subject === run.user_id;
}

export const PRIORITIES = { low: 0, normal: 1, high: 2 } as const;
export type Priority = keyof typeof PRIORITIES;
export function priorityName(n: number): Priority {
  return n >= 2 ? 'high' : n <= 0 ? 'low' : 'normal';
}
