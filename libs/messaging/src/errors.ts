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

/** Socket-level failures: the database's, or anything else the handler talks to (an HTTP API). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a database that is not there: class 08 (connection exception) is matched by prefix;
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections.
 */
const DATABASE_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/** What node-postgres, pg-pool, TypeORM and PGlite say when the connection (not the query) failed. */
const DATABASE_MESSAGES = [
  /connection terminated/i,
  /terminating connection due to administrator command/i,
  /the database system is (shutting down|starting up|in recovery mode|not yet accepting connections)/i,
  /timeout exceeded when trying to connect/i,
  /client has encountered a connection error and is not queryable/i,
  /PGlite is closed/i,
  /PGlite pool has been closed/i,
];

/**
 * How an error relates to connectivity:
 * - `database`: the database said it cannot serve us (SQLSTATE class 08, 57P01-57P03, 53300) or the
 *   driver lost its connection ("Connection terminated", PGlite closed);
 * - `socket`: a socket-level failure (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...) from whatever the
 *   code was talking to;
 * - `none`: anything else (a failing handler).
 * Looks through `cause`, TypeORM's `driverError` and AggregateError's `errors`.
 */
export function connectionErrorKind(error: unknown): 'database' | 'socket' | 'none' {
  let socket = false;
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): boolean => {
    if (typeof e !== 'object' || e === null || seen.has(e) || depth > 5) return false;
    seen.add(e);
    const err = e as { code?: unknown; message?: unknown; cause?: unknown; driverError?: unknown; errors?: unknown };
    const code = typeof err.code === 'string' ? err.code : '';
    if (DATABASE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    if (typeof err.message === 'string' && DATABASE_MESSAGES.some((re) => re.test(err.message as string))) return true;
    if (SOCKET_CODES.has(code)) socket = true;
    if (visit(err.cause, depth + 1) || visit(err.driverError, depth + 1)) return true;
    if (Array.isArray(err.errors)) for (const inner of err.errors) if (visit(inner, depth + 1)) return true;
    return false;
  };
  if (visit(error, 0)) return 'database';
  return socket ? 'socket' : 'none';
}
