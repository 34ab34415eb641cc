import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { verifyIdentity, verifyServiceCredential, type Identity } from '@hishamos/platform';
import { waitFor } from '@hishamos/testing';
import { BOOTSTRAP_KEY, listen, readBody, startGateway, type Gateway, type Json } from './identity-harness';

jest.setTimeout(120_000);

interface Seen {
  method: string;
  url: string;
  body: string;
  headers: IncomingMessage['headers'];
  caller?: string;
  identity?: Identity;
}

describe('the edge: other services’ public routes forwarded with the caller’s signed identity', () => {
  let gw: Gateway;
  let token: string;
  const seen: Seen[] = [];
  let orchestrator: Awaited<ReturnType<typeof listen>>;
  let metering: Awaited<ReturnType<typeof listen>>;
  let feedback: Awaited<ReturnType<typeof listen>>;
  let releaseSecondEvent: () => void = () => undefined;
  let streamClosed = false;
  const admin = BOOTSTRAP_KEY;

  const record = async (req: IncomingMessage): Promise<Seen> => {
    const s: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      body: await readBody(req),
      headers: req.headers,
      caller: verifyServiceCredential(token, String(req.headers.authorization ?? '').replace(/^Bearer /, '')),
      identity: verifyIdentity(token, req.headers),
    };
    seen.push(s);
    return s;
  };

  const upstream = (name: string) => async (req: IncomingMessage, res: ServerResponse) => {
    const s = await record(req);
    if (s.url.startsWith('/v1/runs/r1/events')) {
      // SSE: the first event now, the second only once the test has received the first
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: step\ndata: {"n":1}\n\n');
      res.on('close', () => (streamClosed = true));
      await new Promise<void>((resolve) => (releaseSecondEvent = resolve));
      res.write('event: step\ndata: {"n":2}\n\n');
      res.end();
      return;
    }
    if (s.url.startsWith('/v1/runs/forever')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      res.on('close', () => (streamClosed = true));
      return;
    }
    if (s.method === 'DELETE') {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(s.method === 'POST' ? 201 : 200, {
      'content-type': 'application/json; charset=utf-8',
      'x-upstream': name,
      location: '/v1/tasks/t1',
    });
    res.end(
      JSON.stringify({
        upstream: name,
        method: s.method,
        url: s.url,
        body: s.body ? (JSON.parse(s.body) as unknown) : null,
      }),
    );
  };

  beforeAll(async () => {
    token = randomBytes(32).toString('base64url');
    orchestrator = await listen((req, res) => void upstream('orchestrator')(req, res));
    metering = await listen((req, res) => void upstream('usage-metering')(req, res));
    feedback = await listen((req, res) => void upstream('feedback-ml')(req, res));
    gw = await startGateway({
      serviceToken: token,
      platform: {
        ORCHESTRATOR_URL: orchestrator.url,
        METERING_URL: metering.url,
        FEEDBACK_URL: feedback.url,
        // nothing listens there: the alerting service is "down"
        ALERTING_URL: 'http://127.0.0.1:9',
      },
    });
  });

  afterAll(async () => {
    releaseSecondEvent();
    await gw.stop();
    await Promise.all([orchestrator.close(), metering.close(), feedback.close()]);
  });

  it('forwards method, path, query, JSON body, status and content type, with the service credential and signed identity', async () => {
    const res = await gw.fetch('/v1/tasks?priority=high&tag=a&tag=b%20c', {
      key: admin,
      body: { agent: 'legal', command: 'review_contract', inputs: { text: 'ünïcode' } },
      headers: { 'x-request-id': 'req-42', 'idempotency-key': 'idem-1', cookie: 'session=secret' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-upstream')).toBe('orchestrator');
    expect(res.headers.get('location')).toBe('/v1/tasks/t1');
    expect(res.json).toEqual({
      upstream: 'orchestrator',
      method: 'POST',
      url: '/v1/tasks?priority=high&tag=a&tag=b%20c',
      body: { agent: 'legal', command: 'review_contract', inputs: { text: 'ünïcode' } },
    });
    const s = seen[seen.length - 1];
    expect(s.caller).toBe('agent-gateway');
    expect(s.identity).toMatchObject({ kind: 'user', roles: ['admin'], via: 'forwarded', scopes: ['*'] });
    expect(s.headers['x-request-id']).toBe('req-42');
    expect(s.headers['idempotency-key']).toBe('idem-1');
    expect(s.headers['x-forwarded-for']).toMatch(/127\.0\.0\.1/);
    // the caller's own credentials never travel on
    expect(JSON.stringify(s.headers)).not.toContain(admin);
    expect(s.headers.cookie).toBeUndefined();
  });

  it('routes every prefix to its owner', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v1/workflows', 'orchestrator'],
      ['GET', '/v1/runs/abc/steps', 'orchestrator'],
      ['GET', '/v1/usage?groupBy=agent', 'usage-metering'],
      ['PUT', '/v1/budgets/b1', 'usage-metering'],
      ['GET', '/v1/spend/today', 'usage-metering'],
      ['POST', '/v1/executions/e-1/feedback', 'feedback-ml'],
      ['GET', '/v1/quality/agents', 'feedback-ml'],
      ['GET', '/v1/ml/models', 'feedback-ml'],
      ['GET', '/v1/suggestions', 'feedback-ml'],
    ];
    for (const [method, path, owner] of cases) {
      const res = await gw.fetch(path, { method, key: admin, ...(method === 'GET' ? {} : { body: { rating: 5 } }) });
      expect(res.status).toBeLessThan(300);
      expect(res.json).toMatchObject({ upstream: owner, url: path });
    }
    const del = await gw.fetch('/v1/budgets/b1', { method: 'DELETE', key: admin });
    expect(del.status).toBe(204);
    // not an edge route
    expect((await gw.fetch('/v1/tasksx', { key: admin })).status).toBe(404);
  });

  it('streams SSE through unbuffered', async () => {
    const res = await fetch(`${gw.url}/v1/runs/r1/events`, {
      headers: { authorization: `Bearer ${admin}`, accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // the first event arrives while the upstream is still holding the second one back
    while (!text.includes('"n":1')) text += decoder.decode((await reader.read()).value, { stream: true });
    expect(text).not.toContain('"n":2');
    releaseSecondEvent();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe('event: step\ndata: {"n":1}\n\nevent: step\ndata: {"n":2}\n\n');
  });

  it('closes the upstream stream when the client goes away', async () => {
    streamClosed = false;
    await new Promise<void>((resolve, reject) => {
      const { port } = new URL(gw.url);
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/v1/runs/forever', headers: { authorization: `Bearer ${admin}` } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      req.end();
    });
    await waitFor(() => streamClosed, { what: 'upstream stream closed' });
  });

  it('answers 502 naming the service when it is down', async () => {
    const res = await gw.fetch('/v1/alert-rules', { key: admin });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error: { code: 'upstream_unavailable', details: { service: 'alerting' } } });
    expect((res.json.error as { message: string }).message).toContain('alerting');
  });

  it('authenticates before forwarding: no credentials 401, read-only keys cannot write', async () => {
    const before = seen.length;
    expect((await gw.fetch('/v1/tasks')).status).toBe(401);
    expect((await gw.fetch('/v1/tasks', { key: 'hos_bad' })).status).toBe(401);
    const ro = await gw.fetch('/v1/api-keys', { key: admin, body: { name: 'ro', scopes: ['read'] } });
    const key = (ro.json as Json & { key: string }).key;
    expect((await gw.fetch('/v1/tasks', { key })).status).toBe(200);
    const write = await gw.fetch('/v1/tasks', { key, body: { agent: 'legal' } });
    expect(write.status).toBe(403);
    expect(write.json).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect(seen.length).toBe(before + 1);
  });

  it('forwards a signed-in person (JWT) too', async () => {
    await gw.fetch('/v1/users', {
      key: admin,
      body: { email: 'pat@example.com', name: 'Pat', password: 'pat password 123', roles: ['viewer'], teamId: 'ops' },
    });
    const login = await gw.fetch('/v1/auth/login', {
      body: { email: 'pat@example.com', password: 'pat password 123' },
    });
    const res = await gw.fetch('/v1/spend/today', { key: login.json.accessToken as string });
    expect(res.status).toBe(200);
    expect(seen[seen.length - 1].identity).toMatchObject({ roles: ['viewer'], teamId: 'ops', via: 'forwarded' });
  });
});
