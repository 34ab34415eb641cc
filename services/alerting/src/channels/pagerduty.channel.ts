import { IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';
import { postOnce } from './http-post';
import {
  validateConfigClass,
  type ChannelMessage,
  type ChannelTarget,
  type DeliveryOutcome,
  type NotificationChannel,
} from './notification-channel';

class PagerDutyConfig {
  /** Events API v2 endpoint; defaults to the service setting PAGERDUTY_EVENTS_URL. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  eventsUrl?: string;

  /** payload.source: the affected system (default "hishamos"). */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  source?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  component?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  group?: string;
}

/** PagerDuty Events API v2 body: a trigger with payload, or a resolve, both with the alert's stable dedup_key. */
export function pagerDutyEvent(
  message: ChannelMessage,
  routingKey: string,
  config: PagerDutyConfig,
): Record<string, unknown> {
  if (message.action === 'resolve')
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: message.dedupKey };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: message.dedupKey,
    client: 'HishamOS',
    payload: {
      summary: message.text.slice(0, 1024) || message.title.slice(0, 1024),
      source: config.source ?? 'hishamos',
      severity: message.severity,
      timestamp: message.createdAt.toISOString(),
      component: config.component ?? message.ruleName,
      group: config.group ?? message.entity.slice(0, 255),
      class: message.ruleName,
      custom_details: { ...message.fields, rule: message.ruleName, entity: message.entity, alert_id: message.alertId },
    },
  };
}

/** PagerDuty Events API v2. The secret is the integration's routing key. */
export class PagerDutyChannel implements NotificationChannel {
  readonly type = 'pagerduty' as const;
  readonly secretRequired = true;
  readonly tracksIncidents = true;

  constructor(private readonly defaultEventsUrl: string) {}

  validateConfig(config: unknown): Record<string, unknown> {
    return { ...validateConfigClass(PagerDutyConfig, config) };
  }

  async send(
    message: ChannelMessage,
    target: ChannelTarget,
    secret: string | undefined,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const routingKey = secret?.trim();
    if (!routingKey) return { ok: false, retryable: false, error: 'the PagerDuty routing key is empty' };
    const config = target.config as PagerDutyConfig;
    return postOnce(
      config.eventsUrl ?? this.defaultEventsUrl,
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(pagerDutyEvent(message, routingKey, config)),
      },
      signal,
      (r) => {
        try {
          const body = JSON.parse(r.body) as { message?: string; errors?: string[] };
          return [body.message, ...(body.errors ?? [])].filter(Boolean).join('; ').slice(0, 300);
        } catch {
          return r.body.slice(0, 200);
        }
      },
    );
  }
}
