import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

export interface NodeFetchOptions {
  /** Connections per origin (default 512). */
  maxSockets?: number;
  /** Idle keep-alive connections are closed after this long (default 30 s). */
  idleTimeoutMs?: number;
}

function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

type FetchBody = string | Uint8Array | ArrayBuffer | undefined;

function plainBody(body: unknown): FetchBody | false {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer) return body;
  return false;
}

function headersOf(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!init) return out;
  if (init instanceof Headers) init.forEach((v, k) => (out[k] = v));
  else if (Array.isArray(init)) for (const [k, v] of init) out[k.toLowerCase()] = v;
  else for (const [k, v] of Object.entries(init)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

/** The response's headers as name/value pairs: the Response fills its Headers from them directly. */
function responseHeaders(res: IncomingMessage): [string, string][] {
  const raw = res.rawHeaders;
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i], raw[i + 1]]);
  return pairs;
}

const unusable = () => new TypeError('Body is unusable: Body has already been read');

/**
 * A Response whose whole body is already in memory. `text()`, `json()`, `arrayBuffer()` and `bytes()`
 * read the bytes directly: no web stream is built and drained for an answer that is already here (that
 * is most of what a standard Response costs). Anything else (`body`, `clone()`, `blob()`,
 * `formData()`) is served by a standard Response over the same bytes, made on first use; from then
 * on every read goes through it, so the usual one-read rule holds either way.
 */
type BodyMembers = 'body' | 'bodyUsed' | 'text' | 'json' | 'arrayBuffer' | 'bytes' | 'blob' | 'formData' | 'clone';
/** Response as a base class whose body members this subclass replaces (TypeScript types them as properties). */
const ResponseBase = Response as unknown as new (body: null, init: ResponseInit) => Omit<Response, BodyMembers>;

export class BufferedResponse extends ResponseBase implements Response {
  #bytes: Buffer;
  #used = false;
  #standard?: Response;

  constructor(bytes: Buffer, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }

  #full(): Response {
    if (!this.#standard) {
      const init = { status: this.status, statusText: this.statusText, headers: this.headers };
      this.#standard = new Response(this.#bytes, init);
      // Already read the fast way: the standard body is a read one too.
      if (this.#used) void this.#standard.arrayBuffer().catch(() => undefined);
    }
    return this.#standard;
  }

  #take(): Buffer {
    if (this.#used) throw unusable();
    this.#used = true;
    return this.#bytes;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#full().body;
  }

  get bodyUsed(): boolean {
    return this.#standard ? this.#standard.bodyUsed : this.#used;
  }

  text(): Promise<string> {
    if (this.#standard) return this.#standard.text();
    try {
      const b = this.#take();
      // UTF-8 decode as fetch does: a leading byte order mark is dropped.
      const bom = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
      return Promise.resolve(b.toString('utf8', bom ? 3 : 0));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  json(): Promise<unknown> {
    if (this.#standard) return this.#standard.json();
    return this.text().then((t) => JSON.parse(t) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#standard) return this.#standard.arrayBuffer();
    try {
      const b = this.#take();
      return Promise.resolve(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  bytes(): ReturnType<Response['bytes']> {
    if (this.#standard) return this.#standard.bytes();
    return this.arrayBuffer().then((a) => new Uint8Array(a));
  }

  blob(): Promise<Blob> {
    return this.#full().blob();
  }

  formData(): Promise<FormData> {
    return this.#full().formData();
  }

  clone(): Response {
    return this.#full().clone();
  }
}

/**
 * A Response whose body is still arriving (an event stream). Its `body` is the standard web stream,
 * built on first use; a reader that can take Node's stream itself (`nodeBodyOf`) skips the web
 * stream, its reader and the per-chunk promises entirely. Either way the body is read once.
 */
export class StreamedResponse extends ResponseBase implements Response {
  #source?: Readable;
  #standard?: Response;
  #taken = false;

  constructor(source: Readable, init: ResponseInit) {
    super(null, init);
    this.#source = source;
  }

  /** Hands over Node's stream of the body (once, and only while no web stream was made). */
  takeNodeStream(): Readable | undefined {
    if (this.#standard || this.#taken) return undefined;
    this.#taken = true;
    const source = this.#source;
    this.#source = undefined;
    return source;
  }

  #full(): Response {
    if (!this.#standard) {
      const init = { status: this.status, statusText: this.statusText, headers: this.headers };
      const source = this.#source;
      this.#source = undefined;
      this.#standard = new Response(source ? (Readable.toWeb(source) as ReadableStream<Uint8Array>) : null, init);
    }
    return this.#standard;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#taken) return null;
    return this.#full().body;
  }

  get bodyUsed(): boolean {
    return this.#taken || (this.#standard?.bodyUsed ?? false);
  }

  #read<T>(read: (r: Response) => Promise<T>): Promise<T> {
    if (this.#taken) return Promise.reject(unusable());
    return read(this.#full());
  }

  text(): Promise<string> {
    return this.#read((r) => r.text());
  }

  json(): Promise<unknown> {
    return this.#read((r) => r.json() as Promise<unknown>);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read((r) => r.arrayBuffer());
  }

  bytes(): ReturnType<Response['bytes']> {
    return this.#read((r) => r.bytes());
  }

  blob(): Promise<Blob> {
    return this.#read((r) => r.blob());
  }

  formData(): Promise<FormData> {
    return this.#read((r) => r.formData());
  }

  clone(): Response {
    if (this.#taken) throw unusable();
    return this.#full().clone();
  }
}

/**
 * Node's stream of a streamed Response made by `createNodeFetch` (taking it uses the body up), or
 * undefined for any other Response (read its `body` then).
 */
export function nodeBodyOf(response: Response): Readable | undefined {
  return response instanceof StreamedResponse ? response.takeNodeStream() : undefined;
}

/**
 * A `fetch` for the provider SDKs built on node:http(s) with keep-alive agents: the same Request in and
 * Response out, at a fraction of the CPU of the built-in fetch (a model call through the gateway makes
 * two or three HTTP calls, so this is most of its overhead). JSON answers are read whole before the
 * Response (a BufferedResponse) is built; streams (text/event-stream) are handed over as they arrive. Request bodies the
 * SDKs send are strings or bytes; anything else (form data, streams) goes to the built-in fetch.
 */
export function createNodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 512,
    maxFreeSockets: options.maxSockets ?? 512,
    timeout: options.idleTimeoutMs ?? 30_000,
    scheduling: 'lifo' as const,
  };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);

  const nodeFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request) return fetch(input, init);
    const body = plainBody(init.body);
    if (body === false) return fetch(input, init);
    const url = typeof input === 'string' ? new URL(input) : input;
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError());
    const secure = url.protocol === 'https:';
    const headers = headersOf(init.headers);
    if (body !== undefined && headers['content-length'] === undefined)
      headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const req = (secure ? httpsRequest : httpRequest)(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port || (secure ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          method: init.method ?? 'GET',
          headers,
          agent: secure ? https : http,
        },
        (res) => {
          const status = res.statusCode ?? 500;
          const init = { status, statusText: res.statusMessage ?? '', headers: responseHeaders(res) };
          const streamed = /text\/event-stream|application\/x-ndjson/i.test(String(res.headers['content-type'] ?? ''));
          if (streamed) {
            settled = true;
            signal?.addEventListener('abort', () => res.destroy(abortError()), { once: true });
            resolve(new StreamedResponse(res, init));
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            settled = true;
            const empty = status === 204 || status === 304 || init.status === 205;
            resolve(empty ? new Response(null, init) : new BufferedResponse(Buffer.concat(chunks), init));
          });
          res.on('error', (e) => {
            if (!settled) reject(signal?.aborted ? abortError() : new TypeError('fetch failed', { cause: e }));
          });
        },
      );
      req.on('error', (e) => {
        if (settled) return;
        settled = true;
        reject(signal?.aborted ? abortError() : new TypeError('fetch failed', { cause: e }));
      });
      signal?.addEventListener(
        'abort',
        () => {
          if (settled) return;
          settled = true;
          req.destroy();
          reject(abortError());
        },
        { once: true },
      );
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : Buffer.from(body as ArrayBuffer));
    });
  };
  return nodeFetch as typeof fetch;
}

/** One shared instance: every provider adapter uses it unless told otherwise. */
export const nodeFetch = createNodeFetch();
