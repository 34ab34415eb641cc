import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InternalHttpError, serviceCredential } from '@hishamos/platform';

/**
 * The budget calls to usage-metering, on every model call: JSON over node:http with keep-alive
 * connections and the gateway's service credential. (The platform's InternalHttpClient uses the
 * built-in fetch, which costs several times the CPU per call; this sits on the hot path.)
 */
export class MeteringHttpClient {
  private readonly credential: string;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512, scheduling: 'lifo' });
  private readonly httpsAgent = new HttpsAgent({
    keepAlive: true,
    maxSockets: 512,
    maxFreeSockets: 512,
    scheduling: 'lifo',
  });

  constructor(
    private readonly baseUrl: () => string,
    serviceToken: string,
    caller: string,
    private readonly timeoutMs: number,
  ) {
    this.credential = `Bearer ${serviceCredential(serviceToken, caller)}`;
  }

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.baseUrl());
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const secure = url.protocol === 'https:';
    return new Promise<T>((resolve, reject) => {
      const req = (secure ? httpsRequest : request)(
        {
          hostname: url.hostname,
          port: url.port || (secure ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          method,
          agent: secure ? this.httpsAgent : this.agent,
          headers: {
            authorization: this.credential,
            accept: 'application/json',
            ...(payload !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = undefined;
            if (text) {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = text;
              }
            }
            const status = res.statusCode ?? 500;
            if (status >= 200 && status < 300) return resolve(parsed as T);
            const msg = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? res.statusMessage;
            reject(new InternalHttpError(status, parsed, `${method} ${path} -> ${status}: ${msg}`));
          });
        },
      );
      const timer = setTimeout(() => {
        const e = new Error(`${method} ${path} timed out after ${this.timeoutMs} ms`);
        e.name = 'TimeoutError';
        req.destroy(e);
      }, this.timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(payload);
    });
  }
}
