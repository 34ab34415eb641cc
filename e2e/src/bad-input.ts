import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import { Topics, eventType, type Topic } from '@hishamos/contracts';

/**
 * The kinds of malformed or hostile records the bad-input scenario sends to every consumed topic.
 * All but `wrong-ce-type` carry the topic's real CloudEvents type, so the payload itself is what a
 * consumer must reject (not just the headers).
 */
export const BAD_KINDS = [
  'garbage-protobuf',
  'wrong-types-json',
  'huge-json',
  'no-cloudevent-headers',
  'not-json',
  'wrong-ce-type',
] as const;
/** Well-formed task events a consumer can decode but must refuse: unknown agents, injection strings. */
export const HOSTILE_TASK_KINDS = ['unknown-agent-task', 'injection-task'] as const;
export type BadKind = (typeof BAD_KINDS)[number] | (typeof HOSTILE_TASK_KINDS)[number];

/** The kinds sent to a topic: the hostile task events only where tasks are consumed. */
export function badKindsFor(topic: Topic): readonly BadKind[] {
  return topic === Topics.TaskRequested ? [...BAD_KINDS, ...HOSTILE_TASK_KINDS] : BAD_KINDS;
}

export const INJECTIONS = [
  "'; DROP TABLE outbox; --",
  '<script>alert(1)</script>',
  '${process.env.SERVICE_TOKEN}',
  '{{constructor.constructor("return process")()}}',
  '__proto__',
  '\u0000\u202e',
  '../../../../etc/passwd',
];

/** A Kafka record (value + headers) that no consumer may accept. `id` is its ce_id. */
export function badRecord(kind: BadKind, topic: Topic, i: number): { id: string; value: Buffer; headers: IHeaders } {
  const id = `bad-${kind}-${i}-${randomUUID().slice(0, 6)}`;
  const ce = (contentType: string, type = eventType(topic)): IHeaders => ({
    ce_id: id,
    ce_source: 'e2e/hostile-producer',
    ce_type: type,
    ce_specversion: '1.0',
    ce_time: new Date().toISOString(),
    'content-type': contentType,
  });
  const injection = INJECTIONS[i % INJECTIONS.length];
  const json = (o: unknown) => Buffer.from(JSON.stringify(o));
  switch (kind) {
    case 'garbage-protobuf':
      // A field tag with wire type 7 (invalid) after a truncated varint.
      return {
        id,
        value: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0f, 0x99, i & 0xff]),
        headers: ce('application/protobuf'),
      };
    case 'wrong-types-json':
      // Every field of the wrong type: objects where strings go, strings where numbers go, unknown fields.
      return {
        id,
        value: json({ taskId: { injection }, executionId: [injection], usage: 'lots', rating: 'five', version: {} }),
        headers: ce('application/json'),
      };
    case 'huge-json':
      return { id, value: json({ nope: injection + 'x'.repeat(400_000) }), headers: ce('application/json') };
    case 'no-cloudevent-headers':
      return { id, value: json({ taskId: injection }), headers: { 'x-sent-by': 'e2e', ce_id: id } };
    case 'not-json':
      return { id, value: Buffer.from(`{"taskId": "${injection}" ,,, }`), headers: ce('application/json') };
    case 'wrong-ce-type':
      return { id, value: Buffer.from([]), headers: ce('application/protobuf', 'com.example.not.a.hishamos.event') };
    case 'unknown-agent-task':
      return {
        id,
        value: json({
          taskId: `hostile-${i}`,
          requestedBy: `user-${i}`,
          agent: `no-such-agent-${injection}`,
          command: 'rm_rf',
          inputs: { text: injection },
        }),
        headers: ce('application/json'),
      };
    case 'injection-task':
      return {
        id,
        value: json({
          taskId: injection,
          requestedBy: injection,
          workflow: injection,
          inputs: { [injection]: injection },
        }),
        headers: ce('application/json'),
      };
  }
}
