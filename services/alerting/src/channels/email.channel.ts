import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { createTransport } from 'nodemailer';
import {
  plainText,
  secretField,
  validateConfigClass,
  type ChannelMessage,
  type ChannelTarget,
  type DeliveryOutcome,
  type NotificationChannel,
} from './notification-channel';

class EmailConfig {
  @IsString()
  @MaxLength(255)
  host!: string;

  @IsInt()
  @Min(1)
  @Max(65535)
  port = 587;

  /** implicit: TLS from the first byte (465); starttls: upgrade required; opportunistic: upgrade when offered; none: plain. */
  @IsIn(['implicit', 'starttls', 'opportunistic', 'none'])
  tls: 'implicit' | 'starttls' | 'opportunistic' | 'none' = 'starttls';

  @IsEmail({ require_tld: false })
  from!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsEmail({ require_tld: false }, { each: true })
  to!: string[];

  @IsOptional()
  @IsString()
  @MaxLength(60)
  subjectPrefix?: string;
}

export function emailSubject(message: ChannelMessage, prefix = '[HishamOS]'): string {
  const state = message.action === 'resolve' ? 'RESOLVED' : message.severity.toUpperCase();
  return `${prefix} ${state}: ${message.title}`.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

type SmtpError = Error & { code?: string; responseCode?: number };

/**
 * Email over SMTP with nodemailer. The secret (optional: an open relay needs none) is JSON
 * {"user": "...", "pass": "..."}.
 */
export class EmailChannel implements NotificationChannel {
  readonly type = 'email' as const;
  readonly secretRequired = false;
  readonly tracksIncidents = false;

  constructor(private readonly timeoutMs: number) {}

  validateConfig(config: unknown): Record<string, unknown> {
    return { ...validateConfigClass(EmailConfig, config) };
  }

  async send(
    message: ChannelMessage,
    target: ChannelTarget,
    secret: string | undefined,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const config = target.config as unknown as EmailConfig;
    const user = secretField(secret, 'user', false);
    const pass = secretField(secret, 'pass', false);
    if (secret !== undefined && (!user || !pass))
      return { ok: false, retryable: false, error: 'the SMTP secret must be JSON {"user": ..., "pass": ...}' };
    const tls = config.tls ?? 'starttls';
    const transport = createTransport({
      host: config.host,
      port: config.port ?? 587,
      secure: tls === 'implicit',
      requireTLS: tls === 'starttls',
      ignoreTLS: tls === 'none',
      auth: user && pass ? { user, pass } : undefined,
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
    });
    const abort = () => transport.close();
    signal.addEventListener('abort', abort, { once: true });
    try {
      const info = await transport.sendMail({
        from: config.from,
        to: config.to,
        subject: emailSubject(message, config.subjectPrefix),
        text: plainText(message),
        headers: { 'X-HishamOS-Alert': message.alertId, 'X-HishamOS-Dedup-Key': message.dedupKey },
      });
      if (info.rejected.length > 0 && info.accepted.length === 0)
        return { ok: false, retryable: false, error: `every recipient was rejected: ${info.response}` };
      return { ok: true, detail: info.response.slice(0, 200) };
    } catch (error) {
      const e = error as SmtpError;
      if (signal.aborted) return { ok: false, retryable: true, error: 'timed out' };
      const code = e.responseCode;
      const auth = e.code === 'EAUTH' || code === 535 || code === 534;
      // SMTP 4xx replies are transient by definition; connection problems too. 5xx is permanent.
      const retryable = !auth && (code === undefined ? e.code !== 'EENVELOPE' : code >= 400 && code < 500);
      return {
        ok: false,
        retryable,
        statusCode: code,
        error: `SMTP ${e.code ?? 'error'}${code ? ` ${code}` : ''}: ${(e.message ?? '').slice(0, 300)}`,
        credentialRejected: auth,
      };
    } finally {
      signal.removeEventListener('abort', abort);
      transport.close();
    }
  }
}
