import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { RunRow } from '../repositories/rows';

/** The W3C trace context a run was created in, as stored on its row. */
export type RunTraceContext = Pick<RunRow, 'traceparent' | 'tracestate'>;

/** What a span of a run needs to know about it. */
export type TracedRun = Pick<RunRow, 'id' | 'workflow_id' | 'traceparent' | 'tracestate'>;

const propagator = new W3CTraceContextPropagator();
const tracer = () => trace.getTracer('hishamos-orchestrator');
const setter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => void (c[k] = v) };
const getter: TextMapGetter<Record<string, string | undefined>> = {
  get: (c, k) => c[k],
  keys: (c) => Object.keys(c),
};

/** The active trace context (the consumer span of a TaskRequested, an API request's span), to store on a new run. */
export function currentTraceContext(): RunTraceContext {
  const carrier: Record<string, string> = {};
  propagator.inject(context.active(), carrier, setter);
  return { traceparent: carrier.traceparent ?? null, tracestate: carrier.tracestate ?? null };
}

/** The stored context as a parent (a remote span context); undefined when the run has none or it is malformed. */
export function runParentContext(run: RunTraceContext): Context | undefined {
  if (!run.traceparent) return undefined;
  const carrier = { traceparent: run.traceparent, tracestate: run.tracestate ?? undefined };
  const parent = propagator.extract(ROOT_CONTEXT, carrier, getter);
  const sc = trace.getSpanContext(parent);
  return sc && isSpanContextValid(sc) ? parent : undefined;
}

/**
 * The spans of one engine transaction: one per (run, name), each a child of the run's stored trace context, so
 * that whatever the run causes later (execution requests, workflow events, by any replica, after a restart) stays
 * in the trace it started in. The span that is active meanwhile (a consumer span of an ExecutionCompleted, an API
 * request cancelling the run) is linked. `headers(run, name)` gives the trace headers for an event of the run,
 * published in that span.
 */
export class RunSpans {
  private readonly spans = new Map<string, { span?: Span; headers: Record<string, string> }>();

  constructor(private readonly startTime: Date) {}

  headers(run: TracedRun, name: string): Record<string, string> {
    const key = `${run.id}\u0000${name}`;
    let entry = this.spans.get(key);
    if (!entry) {
      entry = this.start(run, name);
      this.spans.set(key, entry);
    }
    return entry.headers;
  }

  /** Ends the spans (once the transaction's events are written). */
  end(): void {
    for (const { span } of this.spans.values()) span?.end();
    this.spans.clear();
  }

  private start(run: TracedRun, name: string): { span?: Span; headers: Record<string, string> } {
    const active = context.active();
    const parent = runParentContext(run);
    const headers: Record<string, string> = {};
    if (!parent) {
      // A run created without a trace (or before runs kept one): the events carry whatever is active.
      propagator.inject(active, headers, setter);
      return { headers };
    }
    const links: Link[] = [];
    const activeSc = trace.getSpanContext(active);
    const parentSc = trace.getSpanContext(parent)!;
    if (activeSc && isSpanContextValid(activeSc) && activeSc.spanId !== parentSc.spanId) {
      links.push({ context: activeSc });
    }
    const span = tracer().startSpan(
      name,
      {
        kind: SpanKind.INTERNAL,
        startTime: this.startTime,
        links,
        attributes: { 'hishamos.run.id': run.id, 'hishamos.workflow.id': run.workflow_id },
      },
      parent,
    );
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, setter);
    return { span, headers };
  }
}

/** Runs `fn` with no active span: the outbox then keeps the trace headers each event was given. */
export function withoutActiveSpan<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(ROOT_CONTEXT, fn);
}
