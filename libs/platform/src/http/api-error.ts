import type { ValidationError } from 'class-validator';

export interface ApiErrorBody {
  error: {
    status: number;
    /** Stable machine-readable code, e.g. `validation_failed`, `forbidden_agent`, `budget_exceeded`. */
    code: string;
    message: string;
    /** The input field at fault, when there is one (dotted path). */
    field?: string;
    reason?: string;
    details?: unknown;
    /** OpenAI-compatible aliases so OpenAI clients show the message: `type` and `param`. */
    type: string;
    param: string | null;
  };
}

/** An error a caller can cause: the right status, a stable code, the field and the reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { field?: string; reason?: string; details?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static badRequest(field: string, reason: string, code = 'invalid_request'): ApiError {
    return new ApiError(400, code, `${field}: ${reason}`, { field, reason });
  }
  static unauthorized(reason = 'missing or invalid credentials'): ApiError {
    return new ApiError(401, 'unauthorized', reason, { reason });
  }
  static forbidden(reason: string, code = 'forbidden'): ApiError {
    return new ApiError(403, code, reason, { reason });
  }
  static notFound(what: string, id: string): ApiError {
    return new ApiError(404, 'not_found', `${what} ${id} not found`, { field: what, reason: 'not found' });
  }
  static conflict(reason: string, code = 'conflict'): ApiError {
    return new ApiError(409, code, reason, { reason });
  }

  /** class-validator errors -> 400 naming the first bad field (dotted path) and listing all. */
  static validation(errors: ValidationError[]): ApiError {
    const flat: { field: string; reason: string }[] = [];
    const walk = (es: ValidationError[], prefix: string) => {
      for (const e of es) {
        const field = prefix ? `${prefix}.${e.property}` : e.property;
        for (const msg of Object.values(e.constraints ?? {})) flat.push({ field, reason: msg });
        if (e.children?.length) walk(e.children, field);
      }
    };
    walk(errors, '');
    const first = flat[0] ?? { field: 'body', reason: 'invalid' };
    return new ApiError(400, 'validation_failed', `${first.field}: ${first.reason}`, {
      field: first.field,
      reason: first.reason,
      details: flat,
    });
  }

  body(): ApiErrorBody {
    return {
      error: {
        status: this.status,
        code: this.code,
        message: this.message,
        ...(this.extra.field !== undefined ? { field: this.extra.field } : {}),
        ...(this.extra.reason !== undefined ? { reason: this.extra.reason } : {}),
        ...(this.extra.details !== undefined ? { details: this.extra.details } : {}),
        type: this.code,
        param: this.extra.field ?? null,
      },
    };
  }
}
