import pino, { type Logger } from 'pino';

/** Key paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers["x-service-token"]',
  'value',
  '*.value',
  'SERVICE_TOKEN',
  'JWT_SECRET_KEY',
  'ENCRYPTION_KEY',
  'VAULT_TOKEN',
  'SMTP_PASSWORD',
  '*.SMTP_PASSWORD',
  'OPENAI_API_KEY',
  'CLAUDE_API_KEY',
  'GEMINI_API_KEY',
  'OPENROUTER_API_KEY',
];

const knownSecrets = new Set<string>();

/** Registers a secret value (a provider key, a token) so it is masked wherever it appears in a log line. */
export function registerSecretValue(value: string | undefined): void {
  if (value && value.length >= 8) knownSecrets.add(value);
}

export function redactSecretValues(line: string): string {
  let out = line;
  for (const s of knownSecrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  return out;
}

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: service,
      level,
      base: { service },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: redactSecretValues },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export type { Logger };
