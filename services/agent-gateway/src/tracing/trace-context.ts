import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { extractTrace, injectTrace } from '@hishamos/messaging';

/** W3C trace context headers (`traceparent`, `tracestate`) as stored with a queued execution. */
export type TraceCarrier = Record<string, string>;

const tracer = () => trace.getTracer('hishamos-agent-gateway');

/** The active span's trace context as W3C headers; undefined when no span is active. */
export function currentTraceContext(): TraceCarrier | undefined {
  const carrier = injectTrace({});
  return carrier.traceparent ? carrier : undefined;
}

/**
 * Runs `fn` with the trace context of `carrier` as the active one (a new trace when there is none).
 * Whatever context the caller had is replaced: a worker that picked an execution up runs it in the
 * trace it was queued in, not in the trace of whoever woke the worker.
 */
export function withTraceContext<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
  const parent = carrier?.traceparent ? context.with(ROOT_CONTEXT, () => extractTrace(carrier)) : ROOT_CONTEXT;
  return context.with(parent, fn);
}

/** Runs `fn` with no active trace context (so the outbox writes only the headers it is given). */
export function withoutTraceContext<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

async function inSpan<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(context.active(), span), fn);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** One agent command execution: `execute <agent>/<command>`, a child of the active context. */
export function executionSpan<T>(agent: string, command: string, attributes: Attributes, fn: () => Promise<T>) {
  const span = tracer().startSpan(`execute ${agent || '?'}/${command || '?'}`, {
    kind: SpanKind.INTERNAL,
    attributes: { 'hishamos.agent': agent, 'hishamos.command': command, ...attributes },
  });
  return inSpan(span, fn);
}

/** One call to an LLM provider (all its attempts): `<operation> <provider> <model>`, a client span. */
export function providerSpan<T>(provider: string, model: string, operation: string, fn: () => Promise<T>) {
  return inSpan(startProviderSpan(provider, model, operation).span, fn);
}

/** Starts a provider client span without activating it (for streams, ended by the caller). */
export function startProviderSpan(provider: string, model: string, operation: string): { span: Span; ctx: Context } {
  const span = tracer().startSpan(`${operation} ${provider} ${model}`, {
    kind: SpanKind.CLIENT,
    attributes: { 'gen_ai.system': provider, 'gen_ai.request.model': model, 'gen_ai.operation.name': operation },
  });
  return { span, ctx: trace.setSpan(context.active(), span) };
}

/** Marks a span failed with this error. */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
}

/**
 * An inbound HTTP request's server span: a child of the caller's `traceparent` header when it sent
 * one (so a caller's trace continues through the gateway), else the root of a new trace.
 */
export function startRequestSpan(
  name: string,
  headers: Record<string, string | string[] | undefined>,
  attributes: Attributes,
): { span: Span; ctx: Context } {
  const carrier: TraceCarrier = {};
  for (const k of ['traceparent', 'tracestate']) {
    const v = headers[k];
    if (typeof v === 'string') carrier[k] = v;
  }
  const parent = carrier.traceparent ? context.with(ROOT_CONTEXT, () => extractTrace(carrier)) : ROOT_CONTEXT;
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}
