import { ApiError } from '@hishamos/platform';
import { SecretStoreError } from './secrets/secret-store.client';

/** Option keys that would carry a secret (keys belong in `apiKey`, which goes to the secrets service). */
const SECRET_OPTION = /(api[-_]?key|secret|token|password|authorization|credential)/i;
const MAX_OPTIONS_BYTES = 16 * 1024;

/** Provider options are tuning (timeouts, retries, fallback, models), never secrets. */
export function checkOptions(options: Record<string, unknown> | undefined): void {
  if (!options) return;
  if (JSON.stringify(options).length > MAX_OPTIONS_BYTES)
    throw ApiError.badRequest('options', 'must be at most 16 KiB of JSON', 'validation_failed');
  const walk = (value: unknown, path: string): void => {
    if (!value || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) {
      const field = `${path}.${k}`;
      if (SECRET_OPTION.test(k))
        throw ApiError.badRequest(field, 'options must not carry secrets: send the key as apiKey', 'validation_failed');
      walk(v, field);
    }
  };
  walk(options, 'options');
}

/** A secrets-service failure as the API answers it (502; the message never holds the value). */
export function secretsUnavailable(error: unknown): ApiError {
  if (error instanceof SecretStoreError)
    return new ApiError(
      502,
      'secrets_unavailable',
      `could not store the API key: ${error.message}; nothing was changed`,
      {
        field: 'apiKey',
        reason: 'secrets service failed',
      },
    );
  return new ApiError(
    502,
    'secrets_unavailable',
    'could not store the API key: secrets service failed; nothing was changed',
    {
      field: 'apiKey',
      reason: 'secrets service failed',
    },
  );
}
