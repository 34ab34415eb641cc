import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, IsUrl, Matches } from 'class-validator';
import { postOnce } from './http-post';
import {
  secretField,
  validateConfigClass,
  type ChannelMessage,
  type ChannelTarget,
  type DeliveryOutcome,
  type NotificationChannel,
} from './notification-channel';

const E164 = /^\+[1-9]\d{6,14}$/;

class SmsConfig {
  /** Twilio account SID (or in the secret as JSON {"accountSid","authToken"}). */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9]{8,64}$/, { message: 'accountSid must be 8-64 letters and digits' })
  accountSid?: string;

  @Matches(E164, { message: 'from must be an E.164 phone number (+15551234567)' })
  from!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @Matches(E164, { each: true, message: 'each of to must be an E.164 phone number (+15551234567)' })
  to!: string[];

  /** Twilio-compatible REST base URL; defaults to the service setting SMS_API_BASE_URL. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  baseUrl?: string;
}

export const SMS_MAX_LENGTH = 320;

export function smsBody(message: ChannelMessage): string {
  const prefix = message.action === 'resolve' ? '[RESOLVED]' : `[${message.severity.toUpperCase()}]`;
  const text = `${prefix} ${message.text}`;
  return text.length > SMS_MAX_LENGTH ? `${text.slice(0, SMS_MAX_LENGTH - 1)}…` : text;
}

/**
 * SMS through a Twilio-compatible REST API: POST {base}/2010-04-01/Accounts/{sid}/Messages.json,
 * form-encoded To, From, Body, HTTP basic auth (account SID : auth token). One message per recipient;
 * a retry resends to every recipient (a recipient may get a duplicate when only another one failed).
 */
export class SmsChannel implements NotificationChannel {
  readonly type = 'sms' as const;
  readonly secretRequired = true;
  readonly tracksIncidents = false;

  constructor(private readonly defaultBaseUrl: string) {}

  validateConfig(config: unknown): Record<string, unknown> {
    return { ...validateConfigClass(SmsConfig, config) };
  }

  async send(
    message: ChannelMessage,
    target: ChannelTarget,
    secret: string | undefined,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const config = target.config as unknown as SmsConfig;
    const sid = secretField(secret, 'accountSid', false) ?? config.accountSid;
    const token = secretField(secret, 'authToken', true);
    if (!sid) return { ok: false, retryable: false, error: 'no account SID (config.accountSid or the secret)' };
    if (!token) return { ok: false, retryable: false, error: 'the SMS auth token is empty' };
    const base = (config.baseUrl ?? this.defaultBaseUrl).replace(/\/$/, '');
    const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`;
    const authorization = `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;
    const body = smsBody(message);
    const failures: DeliveryOutcome[] = [];
    let lastStatus: number | undefined;
    for (const to of config.to) {
      const outcome = await postOnce(
        url,
        {
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
          body: new URLSearchParams({ To: to, From: config.from, Body: body }).toString(),
        },
        signal,
        (r) => {
          try {
            const parsed = JSON.parse(r.body) as { message?: string; code?: number };
            return [parsed.code, parsed.message]
              .filter((x) => x !== undefined)
              .join(' ')
              .slice(0, 300);
          } catch {
            return r.body.slice(0, 200);
          }
        },
      );
      if (outcome.ok) lastStatus = outcome.statusCode;
      else failures.push(outcome);
    }
    if (failures.length === 0) return { ok: true, statusCode: lastStatus, detail: `${config.to.length} message(s)` };
    const first = failures[0] as Extract<DeliveryOutcome, { ok: false }>;
    const retryable = failures.some((f) => !f.ok && f.retryable);
    return {
      ok: false,
      retryable,
      statusCode: first.statusCode,
      error: `${failures.length} of ${config.to.length} recipient(s) failed: ${first.error}`,
      retryAfterMs: first.retryAfterMs,
      credentialRejected: failures.some((f) => !f.ok && f.credentialRejected),
    };
  }
}
