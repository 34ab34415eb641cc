import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { verifyServiceCredential } from '@hishamos/platform';

/** One request a loopback peer received. */
export interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

export interface HttpPeer {
  url: string;
  requests: Received[];
  /** Answers to the next requests, in order (then `fallback`). */
  respondWith(...answers: Answer[]): void;
  fallback: Answer;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, a: Answer): void {
  const body = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
  res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers ?? {}) });
  res.end(body);
}

/**
 * A loopback HTTP peer that records every request and answers from a queue. `check` validates the request
 * shape the real service documents and answers 400 with the reason when it does not match.
 */
export async function startHttpPeer(fallback: Answer, check?: (r: Received) => string | undefined): Promise<HttpPeer> {
  const queue: Answer[] = [];
  const requests: Received[] = [];
  const peer: Partial<HttpPeer> = { requests, fallback };
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const r: Received = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          at: Date.now(),
        };
        requests.push(r);
        const problem = check?.(r);
        if (problem)
          return send(res, { status: 400, body: { status: 'invalid event', message: problem, errors: [problem] } });
        send(res, queue.shift() ?? peer.fallback!);
      })
      .catch(() => send(res, { status: 500 }));
  });
  peer.url = await listen(server);
  peer.respondWith = (...answers) => queue.push(...answers);
  peer.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return peer as HttpPeer;
}

/** PagerDuty Events API v2's documented shape: routing_key, event_action, dedup_key, and for a trigger payload.summary/severity/source. */
export function checkPagerDuty(r: Received): string | undefined {
  if (r.method !== 'POST' || r.path !== '/v2/enqueue') return `unexpected ${r.method} ${r.path}`;
  if (!String(r.headers['content-type']).startsWith('application/json')) return 'content-type must be application/json';
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
  if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) return 'routing_key must be a 32-character key';
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(e.event_action))) return 'event_action is invalid';
  if (typeof e.dedup_key !== 'string' || !e.dedup_key || e.dedup_key.length > 255) return 'dedup_key is invalid';
  if (e.event_action === 'trigger') {
    const p = e.payload as Record<string, unknown> | undefined;
    if (!p) return 'payload is required for trigger';
    if (typeof p.summary !== 'string' || !p.summary || p.summary.length > 1024) return 'payload.summary is invalid';
    if (!['critical', 'error', 'warning', 'info'].includes(String(p.severity))) return 'payload.severity is invalid';
    if (typeof p.source !== 'string' || !p.source) return 'payload.source is required';
  }
  return undefined;
}

/** Slack incoming webhook: JSON with attachments (the seed's payload). */
export function checkSlack(r: Received): string | undefined {
  if (r.method !== 'POST') return 'method must be POST';
  try {
    const body = JSON.parse(r.body) as { attachments?: { color?: string; title?: string; text?: string }[] };
    const a = body.attachments?.[0];
    if (!a || !/^#[0-9a-f]{6}$/i.test(a.color ?? '') || !a.title || !a.text) return 'invalid_attachments';
  } catch {
    return 'invalid_payload';
  }
  return undefined;
}

/** Twilio's Messages resource: form-encoded To/From/Body with basic auth of the account. */
export function checkTwilio(sid: string, token: string) {
  return (r: Received): string | undefined => {
    if (r.method !== 'POST' || r.path !== `/2010-04-01/Accounts/${sid}/Messages.json`) return `unexpected ${r.path}`;
    if (r.headers['content-type'] !== 'application/x-www-form-urlencoded') return 'must be form-encoded';
    if (r.headers.authorization !== `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`)
      return 'bad credentials';
    const form = new URLSearchParams(r.body);
    if (!/^\+\d+$/.test(form.get('To') ?? '') || !/^\+\d+$/.test(form.get('From') ?? '') || !form.get('Body'))
      return 'To, From and Body are required';
    return undefined;
  };
}

/**
 * A fake of the secrets service's internal API: GET /internal/v1/secrets?path=P with a service
 * credential, alerting's scopes (channels/*, webhooks/*), 404 for a missing secret.
 */
export async function startFakeSecrets(serviceToken: string, secrets: Map<string, string>) {
  const reads: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const caller = auth ? verifyServiceCredential(serviceToken, auth) : undefined;
    if (!caller)
      return send(res, { status: 401, body: { error: { status: 401, code: 'unauthorized', message: 'no' } } });
    if (req.method !== 'GET' || url.pathname !== '/internal/v1/secrets')
      return send(res, { status: 404, body: { error: { status: 404, code: 'not_found', message: 'no route' } } });
    const path = url.searchParams.get('path') ?? '';
    reads.push(path);
    if (caller !== 'alerting' || !(path.startsWith('channels/') || path.startsWith('webhooks/')))
      return send(res, { status: 403, body: { error: { status: 403, code: 'forbidden', message: 'out of scope' } } });
    const value = secrets.get(path);
    if (value === undefined)
      return send(res, {
        status: 404,
        body: { error: { status: 404, code: 'not_found', message: `secret ${path} not found` } },
      });
    send(res, { status: 200, body: { path, version: 1, value, metadata: {}, createdAt: new Date().toISOString() } });
  });
  const url = await listen(server);
  return {
    url,
    reads,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  user?: string;
  data: string;
}

/** A real SMTP server (smtp-server) on loopback, plain text with AUTH allowed, recording messages. */
export async function startSmtp(users: Record<string, string>) {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: Object.keys(users).length === 0,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username && users[auth.username] === auth.password) return cb(null, { user: auth.username });
      cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          data: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port)),
  );
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
