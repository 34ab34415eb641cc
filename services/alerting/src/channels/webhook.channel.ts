import { createHmac } from 'node:crypto';
import { IsUrl } from 'class-validator';
import { postOnce } from './http-post';
import {
  validateConfigClass,
  type ChannelMessage,
  type ChannelTarget,
  type DeliveryOutcome,
  type NotificationChannel,
} from './notification-channel';

class WebhookConfig {
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  url!: string;
}

export const SIGNATURE_HEADER = 'x-hishamos-signature';
export const TIMESTAMP_HEADER = 'x-hishamos-timestamp';
export const DELIVERY_HEADER = 'x-hishamos-delivery';

/**
 * The signature a receiver checks: `v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, with the
 * timestamp (Unix seconds) in its own header so a receiver can refuse old replays.
 */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function webhookBody(message: ChannelMessage): Record<string, unknown> {
  return {
    id: message.deliveryId,
    type: message.action === 'resolve' ? 'alert.resolved' : 'alert.fired',
    alert: {
      id: message.alertId,
      rule_id: message.ruleId,
      rule_name: message.ruleName,
      entity: message.entity,
      severity: message.severity,
      title: message.title,
      message: message.text,
      dedup_key: message.dedupKey,
      source: message.source,
      fields: message.fields,
      created_at: message.createdAt.toISOString(),
    },
  };
}

/** Generic webhook: JSON POST signed with HMAC-SHA256 and a timestamp. The secret is the signing key. */
export class WebhookChannel implements NotificationChannel {
  readonly type = 'webhook' as const;
  readonly secretRequired = true;
  readonly tracksIncidents = true;

  constructor(private readonly now: () => number = Date.now) {}

  validateConfig(config: unknown): Record<string, unknown> {
    return { ...validateConfigClass(WebhookConfig, config) };
  }

  async send(
    message: ChannelMessage,
    target: ChannelTarget,
    secret: string | undefined,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    if (!secret) return { ok: false, retryable: false, error: 'the webhook signing secret is empty' };
    const body = JSON.stringify(webhookBody(message));
    const timestamp = Math.floor(this.now() / 1000);
    return postOnce(
      (target.config as unknown as WebhookConfig).url,
      {
        headers: {
          'content-type': 'application/json',
          'user-agent': 'HishamOS-Alerting/1',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body),
          [DELIVERY_HEADER]: message.deliveryId,
        },
        body,
      },
      signal,
    );
  }
}
