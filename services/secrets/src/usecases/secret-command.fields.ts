import { applyDecorators } from '@nestjs/common';
import { IsDefined, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { MAX_PATH_LENGTH, SECRET_PATH_MESSAGE, SECRET_PATH_PATTERN } from '../domain/secret-path';

/** Largest secret value accepted (bytes of UTF-8 are bounded by the HTTP body limit too). */
export const MAX_VALUE_LENGTH = 65536;

/** A secret path field (commands and DTOs). */
export const IsSecretPath = () =>
  applyDecorators(
    IsString(),
    MaxLength(MAX_PATH_LENGTH),
    Matches(SECRET_PATH_PATTERN, { message: SECRET_PATH_MESSAGE }),
  ) as PropertyDecorator;

/** A secret value field: a non-empty string; messages never quote it. */
export const IsSecretValue = (field = 'value') =>
  applyDecorators(
    IsDefined({ message: `${field} is required` }),
    IsString({ message: `${field} must be a string` }),
    MinLength(1, { message: `${field} must not be empty` }),
    MaxLength(MAX_VALUE_LENGTH, { message: `${field} must be at most ${MAX_VALUE_LENGTH} characters` }),
  ) as PropertyDecorator;
