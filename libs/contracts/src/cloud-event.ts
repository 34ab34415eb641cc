import { create, fromBinary, fromJson, toBinary, type JsonValue } from '@bufbuild/protobuf';
import { randomUUID } from 'node:crypto';
import { TOPIC_SCHEMAS, type Payload, type PayloadInit, type Topic } from './topics';

export const CE_SPECVERSION = '1.0';
export const CONTENT_TYPE_PROTOBUF = 'application/protobuf';
export const CONTENT_TYPE_JSON = 'application/json';

/** CloudEvents 1.0 binary-mode attributes, carried as Kafka headers (ce_*, content-type). */
export interface CloudEventAttributes {
  id: string;
  source: string;
  type: string;
  specversion: string;
  time: string;
  contentType: string;
  subject?: string;
}

/** A decoded event as consumers see it. */
export interface Envelope<T extends Topic = Topic> {
  topic: T;
  key: string;
  attributes: CloudEventAttributes;
  payload: Payload<T>;
  /** Extra headers (trace context and others), without the ce_ ones. */
  headers: Record<string, string>;
}

export class EventDecodeError extends Error {
  constructor(
    readonly reason: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${reason}` : reason);
    this.name = 'EventDecodeError';
  }
}

export function eventType(topic: Topic): string {
  return TOPIC_SCHEMAS[topic].typeName;
}

export function encodePayload<T extends Topic>(topic: T, payload: PayloadInit<T>): Uint8Array {
  const schema = TOPIC_SCHEMAS[topic];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return toBinary(schema as any, create(schema as any, payload as any));
}

export interface EncodedEvent {
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
}

export function encodeEvent<T extends Topic>(
  topic: T,
  payload: PayloadInit<T>,
  opts: { key: string; source: string; id?: string; time?: Date; subject?: string; headers?: Record<string, string> },
): EncodedEvent & { id: string } {
  const id = opts.id ?? randomUUID();
  const headers: Record<string, string> = {
    ...(opts.headers ?? {}),
    ce_id: id,
    ce_source: opts.source,
    ce_type: eventType(topic),
    ce_specversion: CE_SPECVERSION,
    ce_time: (opts.time ?? new Date()).toISOString(),
    'content-type': CONTENT_TYPE_PROTOBUF,
  };
  if (opts.subject) headers.ce_subject = opts.subject;
  return { id, key: opts.key, value: encodePayload(topic, payload), headers };
}

/**
 * Decodes a binary-mode CloudEvent. Protobuf by default; JSON (proto3 JSON mapping) when
 * content-type says so, as external producers may send. Throws EventDecodeError with the reason.
 */
export function decodeEvent<T extends Topic>(
  topic: T,
  key: string,
  value: Uint8Array | null,
  rawHeaders: Record<string, string>,
): Envelope<T> {
  const required = ['ce_id', 'ce_source', 'ce_type', 'ce_specversion'] as const;
  for (const h of required) {
    if (!rawHeaders[h]) throw new EventDecodeError('missing CloudEvents header', h);
  }
  if (rawHeaders.ce_specversion !== CE_SPECVERSION)
    throw new EventDecodeError(`unsupported specversion ${rawHeaders.ce_specversion}`, 'ce_specversion');
  const schema = TOPIC_SCHEMAS[topic];
  if (rawHeaders.ce_type !== schema.typeName)
    throw new EventDecodeError(`expected ${schema.typeName} on ${topic}, got ${rawHeaders.ce_type}`, 'ce_type');
  if (!value) throw new EventDecodeError('empty payload', 'value');
  const contentType = (rawHeaders['content-type'] ?? CONTENT_TYPE_PROTOBUF).split(';')[0].trim().toLowerCase();
  let payload: Payload<T>;
  try {
    if (contentType === CONTENT_TYPE_JSON) {
      const json = JSON.parse(Buffer.from(value).toString('utf8')) as JsonValue;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      payload = fromJson(schema as any, json) as Payload<T>;
    } else if (contentType === CONTENT_TYPE_PROTOBUF || contentType === 'application/x-protobuf') {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      payload = fromBinary(schema as any, value) as Payload<T>;
    } else {
      throw new EventDecodeError(`unsupported content-type ${contentType}`, 'content-type');
    }
  } catch (error) {
    if (error instanceof EventDecodeError) throw error;
    throw new EventDecodeError(`payload is not a valid ${schema.typeName}: ${(error as Error).message}`, 'value');
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawHeaders)) if (!k.startsWith('ce_') && k !== 'content-type') headers[k] = v;
  return {
    topic,
    key,
    payload,
    headers,
    attributes: {
      id: rawHeaders.ce_id,
      source: rawHeaders.ce_source,
      type: rawHeaders.ce_type,
      specversion: rawHeaders.ce_specversion,
      time: rawHeaders.ce_time ?? '',
      contentType,
      subject: rawHeaders.ce_subject,
    },
  };
}
