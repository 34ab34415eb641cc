import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { context } from '@opentelemetry/api';
import { finalize, tap, type Observable } from 'rxjs';
import { failSpan, startRequestSpan } from '../tracing/trace-context';

/**
 * Runs an execution request (agent commands, OpenAI-compatible calls) in a server span whose parent is
 * the caller's W3C `traceparent` header, when it sent one. Everything the request causes continues
 * that trace: the queued execution stores it for its worker, and the ExecutionCompleted and
 * UsageRecorded events carry it to usage-metering, feedback-ml and the orchestrator.
 */
@Injectable()
export class RequestTraceInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { span, ctx: active } = requestSpan(ctx.switchToHttp().getRequest<FastifyRequest>());
    return context
      .with(active, () => next.handle())
      .pipe(
        tap({ error: (error: unknown) => failSpan(span, error) }),
        finalize(() => span.end()),
      );
  }
}

function requestSpan(req: FastifyRequest) {
  const route = req.routeOptions?.url ?? req.url.split('?')[0];
  return startRequestSpan(`${req.method} ${route}`, req.headers, {
    'http.request.method': req.method,
    'http.route': route,
  });
}

/**
 * What RequestTraceInterceptor does, for a handler that calls it itself (the chat completion hot path
 * skips Nest's interceptor pipeline): runs `fn` in the request's server span, marked failed when `fn`
 * throws, ended when it settles.
 */
export async function traceRequest<T>(req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const { span, ctx: active } = requestSpan(req);
  try {
    return await context.with(active, fn);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}
