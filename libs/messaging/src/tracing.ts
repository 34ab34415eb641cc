import { context, propagation, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();
const tracer = () => trace.getTracer('hishamos-messaging');

/** Adds W3C trace context (traceparent, tracestate) of the active span to outgoing headers. */
export function injectTrace(headers: Record<string, string>): Record<string, string> {
  propagator.inject(context.active(), headers, { set: (c, k, v) => ((c as Record<string, string>)[k] = v) });
  return headers;
}

export function extractTrace(headers: Record<string, string>): Context {
  return propagator.extract(context.active(), headers, {
    get: (c, k) => (c as Record<string, string>)[k],
    keys: (c) => Object.keys(c as object),
  });
}

/** Runs `fn` in a consumer span whose parent is the producer's context from the headers. */
export async function withConsumeSpan<T>(
  topic: string,
  group: string,
  headers: Record<string, string>,
  fn: () => Promise<T>,
): Promise<T> {
  const parent = extractTrace(headers);
  return tracer().startActiveSpan(
    `consume ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': group,
      },
    },
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

// Re-exported so callers need not import propagation themselves.
export { propagation };
