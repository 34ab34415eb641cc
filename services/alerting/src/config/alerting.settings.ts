import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUrl, Max, Min, MinLength } from 'class-validator';

const toBool = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value;

/** The alerting service's own environment, validated at boot. Credentials are never here: they live in the secrets service. */
export class AlertingSettings {
  /**
   * A bearer token Alertmanager may present on POST /v1/alertmanager/webhook (its credentials_file).
   * A platform service credential is accepted as well.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'ALERTMANAGER_WEBHOOK_TOKEN must be at least 16 characters' })
  ALERTMANAGER_WEBHOOK_TOKEN?: string;

  /** PagerDuty Events API v2 endpoint (a channel's config.eventsUrl overrides it). */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

  /** Twilio-compatible REST base URL for SMS (a channel's config.baseUrl overrides it). */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  SMS_API_BASE_URL = 'https://api.twilio.com';

  /** Attempts per delivery before it is recorded failed. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  ALERTING_DELIVERY_MAX_ATTEMPTS = 5;

  /** First retry delay; doubles per attempt up to ALERTING_DELIVERY_MAX_BACKOFF_MS (or the peer's Retry-After). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  ALERTING_DELIVERY_BACKOFF_MS = 2000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  ALERTING_DELIVERY_MAX_BACKOFF_MS = 60000;

  /** Timeout of one delivery attempt. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  ALERTING_DELIVERY_TIMEOUT_MS = 10000;

  /** Deliveries sent at the same time by one replica. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  ALERTING_DELIVERY_CONCURRENCY = 16;

  /** How often metric rules are evaluated without new events (windows slide, conditions clear) and pending alerts checked. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  ALERTING_EVALUATION_INTERVAL_MS = 15000;

  /** Minimum time between two evaluations of one metric rule and entity triggered by events. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ALERTING_METRIC_EVAL_MIN_INTERVAL_MS = 1000;

  /** How long a channel credential read from the secrets service is cached (also dropped on SecretRotated). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ALERTING_SECRET_CACHE_TTL_MS = 300000;

  /** Sample this service's own database pool usage as db_pool events every N ms (0 = off). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ALERTING_DB_POOL_SAMPLE_MS = 15000;

  /** Seed the default channels and rules at boot (each once). */
  @Transform(toBool)
  @IsBoolean()
  ALERTING_SEED_DEFAULTS = true;

  /** The seed's SMTP settings: the default email channel's server (credentials: secret channels/email/smtp). */
  @IsOptional()
  @IsString()
  SMTP_HOST?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  SMTP_PORT?: number;

  /** The default email channel's sender and recipients (comma-separated). */
  @IsOptional()
  @IsString()
  ALERT_EMAIL_FROM?: string;

  @IsOptional()
  @IsString()
  ALERT_EMAIL_TO?: string;
}
