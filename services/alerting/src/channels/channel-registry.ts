import { EmailChannel } from './email.channel';
import { CHANNEL_TYPES, type ChannelType, type NotificationChannel } from './notification-channel';
import { PagerDutyChannel } from './pagerduty.channel';
import { SlackChannel } from './slack.channel';
import { SmsChannel } from './sms.channel';
import { WebhookChannel } from './webhook.channel';

/** The channel adapters, keyed by type: use cases pick one by the channel's type, never by a switch. */
export class ChannelRegistry {
  private readonly adapters = new Map<string, NotificationChannel>();

  constructor(adapters: NotificationChannel[]) {
    for (const a of adapters) this.adapters.set(a.type, a);
  }

  static standard(options: { pagerDutyEventsUrl: string; smsBaseUrl: string; timeoutMs: number }): ChannelRegistry {
    return new ChannelRegistry([
      new EmailChannel(options.timeoutMs),
      new SlackChannel(),
      new PagerDutyChannel(options.pagerDutyEventsUrl),
      new WebhookChannel(),
      new SmsChannel(options.smsBaseUrl),
    ]);
  }

  has(type: string): type is ChannelType {
    return this.adapters.has(type);
  }

  get(type: string): NotificationChannel {
    const a = this.adapters.get(type);
    if (!a) throw new Error(`no channel adapter for type ${type} (known: ${this.types().join(', ')})`);
    return a;
  }

  types(): string[] {
    return CHANNEL_TYPES.filter((t) => this.adapters.has(t));
  }
}
