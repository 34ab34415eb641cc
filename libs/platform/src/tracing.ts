import { trace, SpanStatusCode } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { NodeSDK } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

/**
 * Starts OpenTelemetry tracing once per process: OTLP over HTTP when an endpoint is configured,
 * or the span processors given (tests use an in-memory exporter). W3C trace context propagation.
 */
export async function startTracing(
  serviceName: string,
  opts: { otlpEndpoint?: string; spanProcessors?: SpanProcessor[] } = {},
): Promise<void> {
  if (sdk) return;
  const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (opts.otlpEndpoint) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
    processors.push(
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }),
      }),
    );
  }
  sdk = new NodeSDK({ serviceName, spanProcessors: processors, instrumentations: [] });
  sdk.start();
}

export async function stopTracing(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}

/** Wraps a use case's execute (or an adapter call) in a span. */
export async function traced<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: () => Promise<T>,
): Promise<T> {
  return trace.getTracer('hishamos').startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}
