import { ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import { ApiError } from './api-error';

/**
 * How every service validates request bodies and queries (the global pipe): unknown properties are
 * refused, values are turned into the DTO class, and errors become a 400 `validation_failed`.
 */
export const VALIDATION_PIPE_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  exceptionFactory: (errors) => ApiError.validation(errors),
};

/** The global pipe's behaviour, for a handler that validates a body itself (a hand-written fast path first). */
export function platformValidationPipe(): ValidationPipe {
  return new ValidationPipe(VALIDATION_PIPE_OPTIONS);
}
