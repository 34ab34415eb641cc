import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { AlertFiredSchema } from './gen/hishamos/events/v1/alerts_pb';
import { ExecutionCompletedSchema, ExecutionRequestedSchema } from './gen/hishamos/events/v1/executions_pb';
import {
  AuditRecordedSchema,
  DeadLetteredSchema,
  ProviderHealthSchema,
  SecretRotatedSchema,
} from './gen/hishamos/events/v1/platform_pb';
import { FeedbackSubmittedSchema, QualityScoredSchema } from './gen/hishamos/events/v1/quality_pb';
import { TaskRequestedSchema } from './gen/hishamos/events/v1/tasks_pb';
import {
  BudgetThresholdCrossedSchema,
  UsagePricedSchema,
  UsageRecordedSchema,
} from './gen/hishamos/events/v1/usage_pb';
import { WorkflowEventSchema } from './gen/hishamos/events/v1/workflows_pb';

/** Every topic, named hishamos.<domain>.<event>.v1, with its protobuf payload. */
export const TOPIC_SCHEMAS = {
  'hishamos.tasks.requested.v1': TaskRequestedSchema,
  'hishamos.executions.requested.v1': ExecutionRequestedSchema,
  'hishamos.executions.completed.v1': ExecutionCompletedSchema,
  'hishamos.usage.recorded.v1': UsageRecordedSchema,
  'hishamos.budget.threshold-crossed.v1': BudgetThresholdCrossedSchema,
  'hishamos.workflows.progressed.v1': WorkflowEventSchema,
  'hishamos.quality.scored.v1': QualityScoredSchema,
  'hishamos.feedback.submitted.v1': FeedbackSubmittedSchema,
  'hishamos.alerts.fired.v1': AlertFiredSchema,
  'hishamos.secrets.rotated.v1': SecretRotatedSchema,
  'hishamos.providers.health.v1': ProviderHealthSchema,
  'hishamos.audit.recorded.v1': AuditRecordedSchema,
  'hishamos.usage.priced.v1': UsagePricedSchema,
  'hishamos.messaging.dead-lettered.v1': DeadLetteredSchema,
} as const satisfies Record<string, DescMessage>;

export type Topic = keyof typeof TOPIC_SCHEMAS;
export type TopicSchema<T extends Topic> = (typeof TOPIC_SCHEMAS)[T];
/** The decoded payload of a topic. */
export type Payload<T extends Topic> = MessageShape<TopicSchema<T>>;
/** What a producer passes to publish a topic (plain object; fields default as in proto3). */
export type PayloadInit<T extends Topic> = MessageInitShape<TopicSchema<T>>;

export const TOPICS = Object.keys(TOPIC_SCHEMAS) as Topic[];

export const Topics = {
  TaskRequested: 'hishamos.tasks.requested.v1',
  ExecutionRequested: 'hishamos.executions.requested.v1',
  ExecutionCompleted: 'hishamos.executions.completed.v1',
  UsageRecorded: 'hishamos.usage.recorded.v1',
  BudgetThresholdCrossed: 'hishamos.budget.threshold-crossed.v1',
  WorkflowProgressed: 'hishamos.workflows.progressed.v1',
  QualityScored: 'hishamos.quality.scored.v1',
  FeedbackSubmitted: 'hishamos.feedback.submitted.v1',
  AlertFired: 'hishamos.alerts.fired.v1',
  SecretRotated: 'hishamos.secrets.rotated.v1',
  ProviderHealth: 'hishamos.providers.health.v1',
  AuditRecorded: 'hishamos.audit.recorded.v1',
  UsagePriced: 'hishamos.usage.priced.v1',
  DeadLettered: 'hishamos.messaging.dead-lettered.v1',
} as const satisfies Record<string, Topic>;

export function isTopic(name: string): name is Topic {
  return Object.prototype.hasOwnProperty.call(TOPIC_SCHEMAS, name);
}

export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}
