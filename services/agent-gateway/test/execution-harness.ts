/* Harness for the execution / OpenAI-API suites: the real agent-gateway definition booted through
 * `Platform` (embedded: PGlite + local log, port 0), providers configured from the environment to point
 * at the fake provider server, and a stand-in for usage-metering's internal budget API. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Topic, type Envelope } from '@hishamos/contracts';
import {
  createLogger,
  loadConfig,
  Platform,
  PlatformConfig,
  verifyServiceCredential,
  type RunningService,
  type ServiceDefinition,
} from '@hishamos/platform';
import { FakeProviderServer } from '@hishamos/providers';
import { definition } from '../src/index';

export interface Json {
  [k: string]: unknown;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Json) : {};
}

export interface FakeReservation {
  reservationId: string;
  requestId: string;
  userId: string;
  provider: string;
  model: string;
  agent?: string;
  inputTokens: number;
  maxOutputTokens: number;
  released: boolean;
}

/**
 * usage-metering's internal budget API as contracts.md fixes it: reservations (idempotent by
 * requestId; 403 budget_exceeded naming the budget when a user's hard limit would be crossed),
 * releases, and a user's spend. Prices every token at $0.00001.
 */
export class FakeMetering {
  readonly reservations: FakeReservation[] = [];
  /** userId -> daily hard limit in USD. */
  readonly hardLimits = new Map<string, number>();
  /** Answer every request with this status (e.g. 503) to simulate metering down; 0 = normal. */
  failWith = 0;
  /** Refuse connections by closing the server. */
  private server?: Server;
  readonly callers: string[] = [];

  constructor(private readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => send(res, 500, {})));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  reserved(userId: string): number {
    return this.reservations
      .filter((r) => r.userId === userId && !r.released)
      .reduce((s, r) => s + (r.inputTokens + r.maxOutputTokens) * 0.00001, 0);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = verifyServiceCredential(this.token, String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (caller !== 'agent-gateway') return send(res, 403, { error: { code: 'forbidden', message: 'services only' } });
    this.callers.push(`${req.method} ${req.url}`);
    if (this.failWith) return send(res, this.failWith, { error: { code: 'unavailable', message: 'metering is down' } });
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname === '/internal/v1/reservations') {
      const b = (await readJson(req)) as unknown as FakeReservation;
      const same = this.reservations.find((r) => r.requestId === b.requestId);
      if (same) return send(res, 201, { reservationId: same.reservationId, granted: true, amountUsd: '0.01' });
      const amount = (b.inputTokens + b.maxOutputTokens) * 0.00001;
      const limit = this.hardLimits.get(b.userId);
      if (limit !== undefined && this.reserved(b.userId) + amount > limit) {
        return send(res, 403, {
          error: {
            status: 403,
            code: 'budget_exceeded',
            message: `over budget: the daily budget of user ${b.userId} ($${limit.toFixed(2)}) does not cover this request`,
            details: {
              scope: 'user',
              scopeId: b.userId,
              period: 'day',
              limitUsd: limit.toFixed(2),
              spentUsd: '0',
              reservedUsd: this.reserved(b.userId).toFixed(6),
            },
          },
        });
      }
      const reservation = { ...b, reservationId: randomUUID(), released: false };
      this.reservations.push(reservation);
      return send(res, 201, {
        reservationId: reservation.reservationId,
        granted: true,
        amountUsd: amount.toFixed(6),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      });
    }
    const release = /^\/internal\/v1\/reservations\/([^/]+)\/release$/.exec(url.pathname);
    if (req.method === 'POST' && release) {
      const r = this.reservations.find((x) => x.reservationId === release[1]);
      if (!r) return send(res, 404, { error: { code: 'not_found', message: 'no such reservation' } });
      r.released = true;
      return send(res, 200, { reservationId: r.reservationId, status: 'released' });
    }
    const spend = /^\/internal\/v1\/spend\/users\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && spend) {
      const userId = decodeURIComponent(spend[1]);
      const limit = this.hardLimits.get(userId);
      return send(res, 200, {
        userId,
        day: {
          spentUsd: '0',
          reservedUsd: this.reserved(userId).toFixed(6),
          ...(limit !== undefined ? { hardUsd: limit.toFixed(2) } : {}),
        },
        budgets:
          limit !== undefined ? [{ scope: 'user', scopeId: userId, period: 'day', hardUsd: limit.toFixed(2) }] : [],
      });
    }
    return send(res, 404, { error: { code: 'not_found', message: 'no route' } });
  }
}

/** The secrets service's internal API (contracts.md) in memory: versions per path, caller checked. */
export class FakeSecrets {
  readonly versions = new Map<string, string[]>();
  readonly reads: string[] = [];
  private server?: Server;

  constructor(private readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => send(res, 500, {})));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A new version of a secret (what a rotation writes); returns the version number. */
  rotate(path: string, value: string): number {
    const list = this.versions.get(path) ?? [];
    list.push(value);
    this.versions.set(path, list);
    return list.length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = verifyServiceCredential(this.token, String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!caller) return send(res, 401, { error: { code: 'unauthorized', message: 'bad credential' } });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/internal/v1/secrets')
      return send(res, 404, { error: { code: 'not_found', message: 'no route' } });
    if (req.method === 'PUT') {
      const b = (await readJson(req)) as { path: string; value: string };
      const version = this.rotate(b.path, b.value);
      return send(res, 200, { path: b.path, version, createdAt: new Date().toISOString() });
    }
    const path = url.searchParams.get('path') ?? '';
    if (req.method === 'GET') {
      this.reads.push(path);
      const list = this.versions.get(path);
      if (!list?.length) return send(res, 404, { error: { code: 'not_found', message: 'no such secret' } });
      return send(res, 200, {
        path,
        version: list.length,
        value: list[list.length - 1],
        metadata: {},
        createdAt: new Date().toISOString(),
      });
    }
    if (req.method === 'DELETE') {
      this.versions.delete(path);
      return send(res, 200, { path });
    }
    return send(res, 405, { error: { code: 'method_not_allowed', message: 'no' } });
  }
}

export const BOOTSTRAP_KEY = `hos_adm1n000_${'Z9y8X7w6'.repeat(5)}`;
export const UPSTREAM_KEY = 'sk-upstream-fake-key-0001';

export interface TestGateway {
  platform: Platform;
  service: RunningService;
  url: string;
  fake: FakeProviderServer;
  metering: FakeMetering;
  secrets: FakeSecrets;
  token: string;
  logs: string[];
  stop(): Promise<void>;
  /** Records every event of a topic the gateway publishes (a test consumer group on the bus). */
  capture<T extends Topic>(topic: T): Promise<Envelope<T>[]>;
  api(
    path: string,
    init?: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    json: Json;
    text: string;
    headers: Headers;
  }>;
}

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-exec-'));
  const token = randomBytes(32).toString('base64url');
  const fake = await FakeProviderServer.start({ apiKey: UPSTREAM_KEY });
  const metering = new FakeMetering(token);
  await metering.start();
  const secrets = new FakeSecrets(token);
  await secrets.start();
  const logs: string[] = [];
  const logger = createLogger('agent-gateway', 'info', { write: (line: string) => void logs.push(line) });
  const config = loadConfig(PlatformConfig, {
    HISHAMOS_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    SERVICE_TOKEN: token,
    METERING_URL: metering.url,
    SECRETS_URL: secrets.url,
  });
  const platform = new Platform({
    config,
    ports: { 'agent-gateway': 0 },
    logger,
    env: {
      HISHAMOS_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
      // These tests follow each call's reservation at the fake metering (leases: budget-leases.spec, e2e).
      BUDGET_LEASES: 'false',
      OPENAI_API_KEY: UPSTREAM_KEY,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      CLAUDE_API_KEY: UPSTREAM_KEY,
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      GEMINI_API_KEY: UPSTREAM_KEY,
      GEMINI_BASE_URL: fake.geminiBaseUrl,
      PROVIDER_RETRY_BASE_MS: '5',
      ...env,
    },
  });
  const def: ServiceDefinition = { ...definition };
  await platform.start([def]);
  const service = platform.services[0];
  return {
    platform,
    service,
    url: service.url,
    fake,
    metering,
    secrets,
    token,
    logs,
    async stop() {
      await platform.stop();
      await fake.close();
      await metering.close();
      await secrets.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async capture<T extends Topic>(topic: T) {
      const events: Envelope<T>[] = [];
      await platform.eventBus.subscribe(`test-${randomUUID().slice(0, 8)}`, topic, service.context.db, async (e) => {
        events.push(e);
      });
      return events;
    },
    async api(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.key) headers.authorization = `Bearer ${init.key}`;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${service.url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        body:
          init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      });
      const text = await res.text();
      let json: Json = {};
      try {
        json = text ? (JSON.parse(text) as Json) : {};
      } catch {
        json = {};
      }
      return { status: res.status, json, text, headers: res.headers };
    },
  };
}

/** Creates a user with these roles (as the bootstrap admin) and an API key for them. */
export async function createUserWithKey(
  gw: TestGateway,
  email: string,
  roles: string[],
): Promise<{ id: string; key: string }> {
  const user = await gw.api('/v1/users', { key: BOOTSTRAP_KEY, body: { email, name: email.split('@')[0], roles } });
  if (user.status !== 201) throw new Error(`cannot create user ${email}: ${user.status} ${user.text}`);
  const id = user.json.id as string;
  const key = await gw.api('/v1/api-keys', { key: BOOTSTRAP_KEY, body: { name: `${email} key`, userId: id } });
  if (key.status !== 201) throw new Error(`cannot create a key for ${email}: ${key.status} ${key.text}`);
  return { id, key: key.json.key as string };
}
