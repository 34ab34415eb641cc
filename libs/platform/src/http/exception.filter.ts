import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from '../logger';
import { ApiError } from './api-error';

/** Fastify's own request errors (bad JSON, body too large, bad content type) as ApiErrors. */
export function fromFastifyError(error: { code?: string; statusCode?: number; message: string }): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'malformed_json', 'the request body is not valid JSON', {
        field: 'body',
        reason: error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'empty JSON body' : 'malformed JSON',
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'body_too_large', 'the request body is larger than allowed', {
        field: 'body',
        reason: 'too large',
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'send the body as application/json', {
        field: 'content-type',
        reason: 'unsupported media type',
      });
    default:
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
        return new ApiError(error.statusCode, 'bad_request', error.message, { reason: error.message });
      return undefined;
  }
}

/** Maps anything thrown by a handler to `{ error: { status, code, message, field, reason } }`; hides internals. */
export function toApiError(exception: unknown, logger?: Logger): ApiError {
  if (exception instanceof ApiError) return exception;
  if (exception instanceof HttpException) {
    // Nest wraps fastify's request errors (bad JSON, body too large) with the original as the cause.
    const cause = exception.cause as { code?: string; statusCode?: number; message?: string } | undefined;
    if (typeof cause?.code === 'string' && cause.code.startsWith('FST_')) {
      const mapped = fromFastifyError({
        code: cause.code,
        statusCode: cause.statusCode,
        message: String(cause.message),
      });
      if (mapped) return mapped;
    }
    const status = exception.getStatus();
    const res = exception.getResponse();
    const message = typeof res === 'string' ? res : String((res as { message?: unknown }).message ?? exception.message);
    const code =
      status === 404 ? 'not_found' : status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'error';
    return new ApiError(status, code, message, { reason: message });
  }
  const fst = exception as { code?: string; statusCode?: number; message?: string };
  if (typeof fst?.code === 'string' && fst.code.startsWith('FST_')) {
    const mapped = fromFastifyError({ code: fst.code, statusCode: fst.statusCode, message: String(fst.message) });
    if (mapped) return mapped;
  }
  logger?.error({ err: exception }, 'unhandled error');
  return new ApiError(500, 'internal_error', 'internal error');
}

export function sendApiError(reply: FastifyReply, error: ApiError): void {
  if (reply.sent) return;
  for (const [k, v] of Object.entries(error.extra.headers ?? {})) reply.header(k, v);
  void reply.status(error.status).header('content-type', 'application/json; charset=utf-8').send(error.body());
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger?: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    sendApiError(reply, toApiError(exception, this.logger));
  }
}
