import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';

/** The kinds of malformed or hostile payloads the bad-input scenario sends to every consumed topic. */
export const BAD_KINDS = [
  'garbage-protobuf',
  'wrong-types-json',
  'huge-json',
  'no-cloudevent-headers',
  'not-json',
] as const;
export type BadKind = (typeof BAD_KINDS)[number];

const INJECTIONS = [
  "'; DROP TABLE outbox; --",
  '<script>alert(1)</script>',
  '${process.env.SERVICE_TOKEN}',
  '{{constructor.constructor("return process")()}}',
  '__proto__',
  '\u0000\u202e',
];

/** A Kafka record (value + headers) that no consumer can decode. */
export function badRecord(kind: BadKind, topic: string, i: number): { id: string; value: Buffer; headers: IHeaders } {
  const id = `bad-${kind}-${i}-${randomUUID().slice(0, 6)}`;
  const ce = (contentType: string): IHeaders => ({
    ce_id: id,
    ce_source: 'e2e/hostile-producer',
    ce_type: topic,
    ce_specversion: '1.0',
    ce_time: new Date().toISOString(),
    'content-type': contentType,
  });
  const injection = INJECTIONS[i % INJECTIONS.length];
  switch (kind) {
    case 'garbage-protobuf':
      return {
        id,
        value: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, i & 0xff]),
        headers: ce('application/protobuf'),
      };
    case 'wrong-types-json':
      // Every field of the wrong type: objects where strings go, strings where numbers go.
      return {
        id,
        value: Buffer.from(
          JSON.stringify({
            taskId: { injection },
            executionId: [injection],
            usage: 'lots',
            rating: 'five',
            version: {},
          }),
        ),
        headers: ce('application/json'),
      };
    case 'huge-json':
      return {
        id,
        value: Buffer.from(JSON.stringify({ nope: injection.repeat(1) + 'x'.repeat(400_000) })),
        headers: ce('application/json'),
      };
    case 'no-cloudevent-headers':
      return {
        id,
        value: Buffer.from(JSON.stringify({ taskId: injection })),
        headers: { 'x-sent-by': 'e2e', ce_id: id },
      };
    case 'not-json':
      return { id, value: Buffer.from(`{"taskId": "${injection}" ,,, }`), headers: ce('application/json') };
  }
}
