import { ApiError } from '@hishamos/platform';

/*
 * Errors a caller or a backend can cause. Messages name paths and versions, never values, keys or
 * tokens; none carries a `cause` (a Vault client error holds the request, token included).
 */

export class SecretNotFoundError extends ApiError {
  constructor(path: string, version?: number, why?: 'deleted' | 'destroyed') {
    const what = version !== undefined ? `${path} version ${version}` : path;
    super(404, 'not_found', `secret ${what} not found${why ? ` (${why})` : ''}`, {
      field: 'path',
      reason: why ?? 'not found',
    });
    this.name = 'SecretNotFoundError';
  }
}

export class CasMismatchError extends ApiError {
  constructor(path: string, expected: number, current?: number) {
    super(
      409,
      'cas_mismatch',
      `check-and-set failed for ${path}: expected version ${expected}` +
        (current !== undefined ? `, current version is ${current}` : ''),
      { field: 'cas', reason: 'check-and-set parameter did not match the current version', details: { current } },
    );
    this.name = 'CasMismatchError';
  }
}

export class SecretVersionExpiredError extends ApiError {
  constructor(path: string, version: number, graceUntil: Date) {
    super(
      410,
      'version_expired',
      `${path} version ${version} was rotated out; its grace period ended at ${graceUntil.toISOString()}`,
      { field: 'version', reason: 'rotation grace period over', details: { graceUntil: graceUntil.toISOString() } },
    );
    this.name = 'SecretVersionExpiredError';
  }
}

/** A stored value failed authentication: tampered ciphertext, moved to another path, or a wrong key. */
export class SecretIntegrityError extends ApiError {
  constructor(path: string, version: number) {
    super(500, 'integrity_error', `the stored value of ${path} version ${version} failed authentication`, {
      reason: 'ciphertext does not authenticate (tampered, moved or wrong key)',
    });
    this.name = 'SecretIntegrityError';
  }
}

export class SecretBackendUnavailableError extends ApiError {
  constructor(backend: string, operation: string, why: string) {
    super(503, 'backend_unavailable', `the ${backend} secret backend failed to ${operation}: ${why}`, {
      reason: why,
    });
    this.name = 'SecretBackendUnavailableError';
  }
}

/** The audit record could not be written: the request is refused (as Vault does). */
export class AuditWriteError extends ApiError {
  constructor() {
    super(500, 'audit_failed', 'the audit record could not be written, so the request was not served', {
      reason: 'audit write failed',
    });
    this.name = 'AuditWriteError';
  }
}

export class PathForbiddenError extends ApiError {
  constructor(reason: string) {
    super(403, 'forbidden_path', reason, { field: 'path', reason });
    this.name = 'PathForbiddenError';
  }
}
