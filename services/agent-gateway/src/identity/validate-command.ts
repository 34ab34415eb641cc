import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ApiError } from '@hishamos/platform';

/**
 * Builds a use case's command from plain values and validates it (class-validator), throwing ApiError
 * 400 naming the first bad field: commands validate themselves whoever calls execute().
 */
export function toValidCommand<T extends object>(cls: new () => T, plain: object): T {
  const command = plain instanceof cls ? plain : plainToInstance(cls, plain);
  const errors = validateSync(command, { forbidUnknownValues: false, whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw ApiError.validation(errors);
  return command;
}
