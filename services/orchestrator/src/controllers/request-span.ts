import { context, isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

type RequestHeaders = Record<string, string | string[] | undefined>;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Runs a request handler in a server span whose parent is the caller's W3C trace context (`traceparent`,
 * `tracestate` request headers; a new trace without them). A run created inside keeps this span as its trace
 * context. When a span is already active (the platform traces the request itself), that one is used as is.
 */
export async function withRequestSpan<T>(
  method: string,
  route: string,
  headers: RequestHeaders,
  fn: () => Promise<T>,
): Promise<T> {
  const active = trace.getSpanContext(context.active());
  if (active && isSpanContextValid(active)) return fn();
  const carrier = { traceparent: first(headers.traceparent), tracestate: first(headers.tracestate) };
  const parent = propagator.extract(ROOT_CONTEXT, carrier, {
    get: (c, k) => c[k as keyof typeof c],
    keys: (c) => Object.keys(c),
  });
  return trace
    .getTracer('hishamos-orchestrator')
    .startActiveSpan(
      `${method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } },
      parent,
      async (span) => {
        try {
          return await fn();
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      },
    );
}
