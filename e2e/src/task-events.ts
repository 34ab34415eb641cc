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

/** The incident the fault and trace scenarios hand the `incident-response` workflow. */
export const INCIDENT_INPUTS: Readonly<Record<string, string>> = {
  service: 'checkout-api',
  platform: 'Kubernetes with Helm',
  symptoms: '5xx rate at 12% since 14:02 UTC',
  logs: 'ERROR pool exhausted at 14:02:11',
  telemetry: 'p99 2.4 s, error rate 12%',
  objectives: '99.9% availability',
  time_window: '14:00-14:30 UTC',
  deployed_version: 'v2.31.0',
  environment: 'Node.js services on GKE',
  assets: 'payment tokens',
  customer_reports: 'Customers cannot pay since 14:05',
};
