import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ApiError } from '@hishamos/platform';

/**
 * Builds a use case's command object from plain values and validates it (class-validator): throws
 * ApiError 400 naming the first bad field. Commands validate themselves whoever calls execute().
 */
export function toValidCommand<T extends object>(cls: new () => T, plain: object): T {
  const command = plain instanceof cls ? plain : plainToInstance(cls, plain);
  const errors = validateSync(command, { forbidUnknownValues: false });
  if (errors.length > 0) throw ApiError.validation(errors);
  return command;
}
