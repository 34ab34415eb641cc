import { CliError } from './commands';

export interface CliOut {
  log(line: string): void;
  /** Rewrites the current block of lines in place on a terminal (progress), appends otherwise. */
  live?(lines: string[]): void;
}

/**
 * The CLI's way to the platform's public API: HISHAMOS_URL (default http://127.0.0.1:8080) and
 * HISHAMOS_API_KEY. Every failure is a CliError with one line a person can act on.
 */
export class ApiClient {
  readonly baseUrl: string;
  private readonly apiKey?: string;

  constructor(env: Record<string, string | undefined>) {
    this.baseUrl = (env.HISHAMOS_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
    this.apiKey = env.HISHAMOS_API_KEY || undefined;
  }

  private headers(json: boolean): Record<string, string> {
    return {
      accept: 'application/json',
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
    };
  }

  private async fetch(method: string, path: string, body?: unknown, accept?: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...this.headers(body !== undefined), ...(accept ? { accept } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new CliError(
        `cannot reach HishamOS at ${this.baseUrl} (${cause}); set HISHAMOS_URL or start it with 'make run'`,
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let message = text || res.statusText;
    try {
      const parsed = JSON.parse(text) as { error?: { message?: string } };
      if (parsed.error?.message) message = parsed.error.message;
    } catch {
      /* not JSON */
    }
    if (res.status === 401)
      throw new CliError(
        this.apiKey
          ? `HISHAMOS_API_KEY was refused by ${this.baseUrl}: ${message}`
          : `set HISHAMOS_API_KEY to an API key (${this.baseUrl} answered 401)`,
      );
    throw new CliError(`${method} ${path} failed (${res.status}): ${message}`);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Reads a server-sent event stream until it ends or `onEvent` returns true. */
  async stream(path: string, onEvent: (event: string, data: unknown) => boolean | void): Promise<void> {
    const res = await this.fetch('GET', path, undefined, 'text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let idx: number;
      while ((idx = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue;
        let parsed: unknown = data.join('\n');
        try {
          parsed = JSON.parse(parsed as string);
        } catch {
          /* plain text */
        }
        if (onEvent(event, parsed) === true) {
          await reader.cancel();
          return;
        }
      }
    }
  }
}

/** `--input k=v` (repeatable) and `--input-file f.json`, plus other `--flag value` pairs. */
export function parseFlags(args: string[]): { positional: string[]; flags: Map<string, string[]> } {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const value = eq > 0 ? a.slice(eq + 1) : args[i + 1] && !args[i + 1].startsWith('--') ? args[++i] : 'true';
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else positional.push(a);
  }
  return { positional, flags };
}
