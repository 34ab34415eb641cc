import type { RecordedRequest } from './sinks';

/** One span as an OTLP/HTTP JSON export carries it, with its resource's service.name. */
export interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, string>;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list ?? []) {
    const v = a.value.stringValue ?? a.value.intValue ?? a.value.boolValue ?? a.value.doubleValue;
    if (v !== undefined) out[a.key] = String(v);
  }
  return out;
}

/** The spans in the OTLP/HTTP JSON exports (POST /v1/traces) an HttpSink received. */
export function spansFrom(requests: RecordedRequest[]): ExportedSpan[] {
  const spans: ExportedSpan[] = [];
  for (const r of requests) {
    if (r.method !== 'POST' || !r.path.startsWith('/v1/traces') || typeof r.body !== 'object' || !r.body) continue;
    for (const rs of (r.body as OtlpExport).resourceSpans ?? []) {
      const service = attributes(rs.resource?.attributes)['service.name'] ?? '';
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          spans.push({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            attributes: attributes(s.attributes),
          });
    }
  }
  return spans;
}
