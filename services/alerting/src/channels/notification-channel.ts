import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { Severity } from '../domain/rule-definition';

export const CHANNEL_TYPES = ['email', 'slack', 'pagerduty', 'webhook', 'sms'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** What a channel sends: one alert notification, already rendered. */
export interface ChannelMessage {
  deliveryId: string;
  alertId: string;
  action: 'trigger' | 'resolve';
  ruleId: string | null;
  ruleName: string;
  entity: string;
  severity: Severity;
  title: string;
  text: string;
  /** Stable per rule and entity: PagerDuty's dedup_key, the webhook's incident key. */
  dedupKey: string;
  /** event | metric | alertmanager | test */
  source: string;
  /** The alert's data, shown as fields (Slack) or details (PagerDuty, webhook). */
  fields: Record<string, string>;
  createdAt: Date;
}

/** A channel as configured: non-secret settings only. */
export interface ChannelTarget {
  name: string;
  type: ChannelType;
  config: Record<string, unknown>;
}

export type DeliveryOutcome =
  | { ok: true; statusCode?: number; detail?: string }
  | {
      ok: false;
      /** Worth trying again (network error, timeout, 429, 5xx); false for a request the peer rejected. */
      retryable: boolean;
      error: string;
      statusCode?: number;
      /** The peer asked to wait this long (Retry-After). */
      retryAfterMs?: number;
      /** The credential was refused: the cached secret is dropped before the next attempt. */
      credentialRejected?: boolean;
    };

/** A channel's non-secret config is invalid: the field and the reason. */
export class ChannelConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ChannelConfigError';
  }
}

/** One way of notifying people. Each family member is an adapter in the ChannelRegistry, keyed by type. */
export interface NotificationChannel {
  readonly type: ChannelType;
  /** Whether a channel of this type must name a secret (its credential) in the secrets service. */
  readonly secretRequired: boolean;
  /** The peer tracks incidents (PagerDuty): it always gets the resolve, even when a rule does not announce resolutions. */
  readonly tracksIncidents: boolean;
  /** Checks and normalises a channel's non-secret config; throws ChannelConfigError. */
  validateConfig(config: unknown): Record<string, unknown>;
  /** One attempt. Never throws: every failure is an outcome. The secret never appears in the outcome. */
  send(
    message: ChannelMessage,
    target: ChannelTarget,
    secret: string | undefined,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome>;
}

/** Validates a config object against a class-validator class (unknown keys rejected: secrets do not belong in config). */
export function validateConfigClass<T extends object>(cls: new () => T, config: unknown): T {
  if (config === undefined || config === null) config = {};
  if (typeof config !== 'object' || Array.isArray(config)) throw new ChannelConfigError('config', 'must be an object');
  const instance = plainToInstance(cls, config, { exposeDefaultValues: true });
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) {
    const first = flatten(errors)[0];
    throw new ChannelConfigError(`config.${first.field}`, first.reason);
  }
  return instance;
}

function flatten(errors: ValidationError[], prefix = ''): { field: string; reason: string }[] {
  const out: { field: string; reason: string }[] = [];
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    for (const reason of Object.values(e.constraints ?? {})) out.push({ field, reason });
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** A secret value is either the credential itself or a JSON object of several fields. */
export function secretField(secret: string | undefined, key: string, primary: boolean): string | undefined {
  if (secret === undefined) return undefined;
  const trimmed = secret.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as Record<string, unknown>;
      const v = Object.prototype.hasOwnProperty.call(parsed, key) ? parsed[key] : undefined;
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  return primary ? trimmed : undefined;
}

/** Slack's attachment colours by severity (seed 001, section 6.1). */
export const SEVERITY_COLORS: Record<Severity, string> = {
  info: '#36a64f',
  warning: '#ff9800',
  error: '#f44336',
  critical: '#b71c1c',
};
export const RESOLVED_COLOR = '#2eb886';

export function plainText(message: ChannelMessage): string {
  const lines = [message.text];
  const entries = Object.entries(message.fields);
  if (entries.length) lines.push('', ...entries.map(([k, v]) => `${k}: ${v}`));
  lines.push('', `rule: ${message.ruleName}`, `entity: ${message.entity}`, `alert: ${message.alertId}`);
  return lines.join('\n');
}
