/** A handler error that retrying cannot fix (bad input, unknown entity): goes to the DLQ at once. */
export class NonRetryableError extends Error {
  readonly retryable = false;
  constructor(
    message: string,
    readonly code = 'invalid_event',
  ) {
    super(message);
    this.name = 'NonRetryableError';
  }
}

export function isNonRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;
}
