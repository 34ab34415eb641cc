import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
} from '@opentelemetry/api';
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

/**
 * Runs `fn` in one consumer span for a batch of messages. The span links to each message's producer
 * context; when all the messages come from one trace context it is also their child (so events the
 * handler writes to the outbox stay in that trace). A batch of one is exactly `withConsumeSpan`.
 */
export async function withConsumeBatchSpan<T>(
  topic: string,
  group: string,
  headers: Record<string, string>[],
  fn: () => Promise<T>,
): Promise<T> {
  if (headers.length === 1) return withConsumeSpan(topic, group, headers[0], fn);
  const links: Link[] = [];
  const parents = new Set<string>();
  for (const h of headers) {
    const sc = trace.getSpanContext(extractTrace(h));
    if (sc && isSpanContextValid(sc)) links.push({ context: sc });
    parents.add(h.traceparent ?? '');
  }
  const parent = parents.size === 1 && headers[0]?.traceparent ? extractTrace(headers[0]) : ROOT_CONTEXT;
  return tracer().startActiveSpan(
    `consume ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': group,
        'messaging.batch.message_count': headers.length,
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
