import { IsOptional, IsString, MaxLength } from 'class-validator';
import { postOnce } from './http-post';
import {
  RESOLVED_COLOR,
  SEVERITY_COLORS,
  validateConfigClass,
  type ChannelMessage,
  type ChannelTarget,
  type DeliveryOutcome,
  type NotificationChannel,
} from './notification-channel';

class SlackConfig {
  /** Overrides the webhook's default channel (legacy incoming webhooks honour it). */
  @IsOptional()
  @IsString()
  @MaxLength(80)
  channel?: string;

  @IsOptional()
  @IsString()
  @MaxLength(80)
  username?: string;
}

/** The seed's Slack payload: one attachment coloured by severity, the alert's data as short fields. */
export function slackPayload(message: ChannelMessage, config: SlackConfig): Record<string, unknown> {
  const resolved = message.action === 'resolve';
  return {
    ...(config.channel ? { channel: config.channel } : {}),
    ...(config.username ? { username: config.username } : {}),
    attachments: [
      {
        color: resolved ? RESOLVED_COLOR : SEVERITY_COLORS[message.severity],
        title: `${resolved ? 'RESOLVED ' : ''}${message.severity.toUpperCase()} Alert`,
        text: message.text,
        fields: Object.entries(message.fields).map(([title, value]) => ({ title, value: String(value), short: true })),
        footer: 'HishamOS',
        ts: Math.floor(message.createdAt.getTime() / 1000),
      },
    ],
  };
}

/** Slack incoming webhook. The secret is the webhook URL itself (it carries the token). */
export class SlackChannel implements NotificationChannel {
  readonly type = 'slack' as const;
  readonly secretRequired = true;
  readonly tracksIncidents = false;

  validateConfig(config: unknown): Record<string, unknown> {
    return { ...validateConfigClass(SlackConfig, config) };
  }

  async send(
    message: ChannelMessage,
    target: ChannelTarget,
    secret: string | undefined,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const url = secret?.trim();
    if (!url || !/^https?:\/\//.test(url))
      return { ok: false, retryable: false, error: 'the Slack secret is not a webhook URL' };
    return postOnce(
      url,
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackPayload(message, target.config as SlackConfig)),
      },
      signal,
      (r) => r.body.slice(0, 200),
    );
  }
}
