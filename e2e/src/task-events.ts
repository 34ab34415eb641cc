import { randomBytes, randomUUID } from 'node:crypto';
import type { Message } from 'kafkajs';
import { eventType, Topics } from '@hishamos/contracts';

export interface ExternalTask {
  taskId?: string;
  requestedBy: string;
  teamId?: string;
  workflow?: string;
  agent?: string;
  command?: string;
  inputs?: Record<string, unknown>;
  priority?: string;
}

export interface ExternalTaskRecord {
  message: Message;
  eventId: string;
  source: string;
  taskId: string;
  traceId: string;
  spanId: string;
}

/**
 * A TaskRequested CloudEvent as another team's service would publish it with a plain kafkajs producer:
 * binary mode (ce_* headers), the payload in JSON (proto3 JSON names), and W3C trace context.
 */
export function externalTaskRecord(
  task: ExternalTask,
  opts: { source?: string; eventId?: string } = {},
): ExternalTaskRecord {
  const taskId = task.taskId ?? `ext-${randomUUID()}`;
  const eventId = opts.eventId ?? randomUUID();
  const source = opts.source ?? '//incidents.example.com/pager-bridge';
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return {
    eventId,
    source,
    taskId,
    traceId,
    spanId,
    message: {
      key: taskId,
      value: JSON.stringify({ ...task, taskId }),
      headers: {
        ce_id: eventId,
        ce_source: source,
        ce_type: eventType(Topics.TaskRequested),
        ce_specversion: '1.0',
        ce_time: new Date().toISOString(),
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${spanId}-01`,
      },
    },
  };
}
