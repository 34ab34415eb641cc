/* Test harness for the identity, platform-config and edge suites: the gateway booted through `Platform`
 * (PGlite embedded, or Postgres + Kafka), with a test ServiceDefinition whose module imports IdentityModule,
 * fake neighbour services on loopback, and captured logs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import {
  createLogger,
  loadConfig,
  Platform,
  PlatformConfig,
  verifyIdentity,
  verifyServiceCredential,
  type Identity,
  type RunningService,
  type ServiceDefinition,
} from '@hishamos/platform';
import { IdentitySettings } from '../src/config/identity.settings';
import { startIdentityConsumers } from '../src/identity/consumers/identity.consumers';
import { IdentityModule } from '../src/identity/identity.module';

@Module({ imports: [IdentityModule] })
class IdentityTestGatewayModule {}

export interface Json {
  [k: string]: unknown;
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{
  server: Server;
  url: string;
  close: () => Promise<void>;
}> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A stand-in for the secrets service's internal API (contracts.md), checking the caller's credential. */
export class FakeSecrets {
  readonly values = new Map<string, { value: string; version: number }[]>();
  readonly calls: { method: string; path: string; caller?: string }[] = [];
  failing = false;
  private server?: Awaited<ReturnType<typeof listen>>;

  constructor(private readonly token: string) {}

  get url(): string {
    return this.server!.url;
  }

  async start(): Promise<void> {
    this.server = await listen((req, res) => void this.handle(req, res));
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }

  latest(path: string): string | undefined {
    const versions = this.values.get(path);
    return versions?.[versions.length - 1]?.value;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    const caller = verifyServiceCredential(this.token, auth);
    const body = await readBody(req);
    this.calls.push({ method: req.method ?? '', path: url.pathname, caller });
    if (!caller) return send(res, 401, { error: { message: 'bad credential' } });
    if (this.failing) return send(res, 503, { error: { message: 'backend sealed' } });
    const path = url.searchParams.get('path') ?? (body ? (JSON.parse(body) as { path: string }).path : '');
    if (!path.startsWith('ai/platforms/') && !path.startsWith('providers/'))
      return send(res, 403, { error: { message: 'out of scope' } });
    const versions = this.values.get(path) ?? [];
    if (req.method === 'PUT' && url.pathname === '/internal/v1/secrets') {
      const { value } = JSON.parse(body) as { value: string };
      versions.push({ value, version: versions.length + 1 });
      this.values.set(path, versions);
      return send(res, 200, { path, version: versions.length, createdAt: new Date().toISOString() });
    }
    if (req.method === 'POST' && url.pathname === '/internal/v1/secrets/rotate') {
      if (!versions.length) return send(res, 404, { error: { message: 'not found' } });
      const { value } = JSON.parse(body) as { value: string };
      versions.push({ value, version: versions.length + 1 });
      return send(res, 200, { path, version: versions.length, previousVersion: versions.length - 1 });
    }
    if (req.method === 'GET' && url.pathname === '/internal/v1/secrets') {
      const latest = versions[versions.length - 1];
      if (!latest) return send(res, 404, { error: { message: 'not found' } });
      return send(res, 200, { path, version: latest.version, value: latest.value, metadata: {} });
    }
    if (req.method === 'DELETE' && url.pathname === '/internal/v1/secrets') {
      this.values.delete(path);
      return send(res, 200, { path });
    }
    return send(res, 404, { error: { message: 'no route' } });
  }
}

/** A stand-in for usage-metering's budgets API: records what the gateway sent on whose behalf. */
export class FakeMetering {
  readonly budgets: { body: Json; onBehalfOf?: Identity; caller?: string }[] = [];
  status = 201;
  private server?: Awaited<ReturnType<typeof listen>>;

  constructor(private readonly token: string) {}

  get url(): string {
    return this.server!.url;
  }

  async start(): Promise<void> {
    this.server = await listen((req, res) => {
      void readBody(req).then((body) => {
        const caller = verifyServiceCredential(this.token, String(req.headers.authorization ?? '').slice(7));
        if (req.method === 'PUT' && req.url === '/v1/budgets') {
          this.budgets.push({
            body: JSON.parse(body) as Json,
            onBehalfOf: verifyIdentity(this.token, req.headers),
            caller,
          });
          if (this.status >= 400) return send(res, this.status, { error: { message: 'hardUsd: too large' } });
          return send(res, 201, { id: 'b1' });
        }
        send(res, 404, { error: { message: 'no route' } });
      });
    });
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }
}

export interface GatewayOptions {
  /** Identity settings (HISHAMOS_BOOTSTRAP_API_KEY, JWT_*...). */
  env?: Record<string, string>;
  /** Platform variables (SECRETS_URL, METERING_URL, ORCHESTRATOR_URL...). */
  platform?: Record<string, string>;
  dataDir?: string;
  serviceToken?: string;
  /** Postgres + Kafka instead of PGlite + the local log. */
  distributed?: { databaseUrl: string; topicPrefix: string };
}

export interface Gateway {
  platform: Platform;
  service: RunningService;
  url: string;
  dataDir: string;
  token: string;
  logs: string[];
  stop(opts?: { keepData?: boolean }): Promise<void>;
  fetch(
    path: string,
    init?: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    json: Json;
    text: string;
    headers: Headers;
  }>;
}

export const BOOTSTRAP_KEY = `hos_adm1n000_${'A1b2C3d4'.repeat(5)}`;

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hishamos-identity-'));
  const token = options.serviceToken ?? randomBytes(32).toString('base64url');
  const logs: string[] = [];
  const logger = createLogger('agent-gateway', 'debug', { write: (line: string) => void logs.push(line) });
  const config = loadConfig(PlatformConfig, {
    HISHAMOS_DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    SERVICE_TOKEN: token,
    ...(options.distributed
      ? {
          HISHAMOS_MODE: 'distributed',
          DATABASE_URL: options.distributed.databaseUrl,
          KAFKA_TOPIC_PREFIX: options.distributed.topicPrefix,
          KAFKA_TOPIC_PARTITIONS: '2',
        }
      : {}),
    ...options.platform,
  });
  const definition: ServiceDefinition = {
    name: 'agent-gateway',
    consumes: [Topics.SecretRotated, Topics.AuditRecorded],
    publishes: [Topics.AuditRecorded],
    module: IdentityTestGatewayModule,
    settings: IdentitySettings,
    onStart: (ctx, app) => startIdentityConsumers(ctx, app),
  };
  const platform = new Platform({
    config,
    ports: { 'agent-gateway': 0 },
    logger,
    env: { HISHAMOS_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY, ...options.env },
  });
  try {
    await platform.start([definition]);
  } catch (error) {
    await platform.stop();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const service = platform.services[0];
  return {
    platform,
    service,
    url: service.url,
    dataDir,
    token,
    logs,
    async stop(opts = {}) {
      await platform.stop();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async fetch(path, init = {}) {
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

/** Inserts agents into the catalog's table (the roster the toggles are checked against). */
export async function seedAgents(gateway: Gateway, slugs: string[]): Promise<void> {
  for (const slug of slugs)
    await gateway.service.context.db.query(
      `INSERT INTO agents (slug, name, category, system_prompt, default_provider, default_model, max_concurrent_tasks, source)
       VALUES ($1, $1, 'business', 'Role: test', 'offline', 'offline', 1, 'admin') ON CONFLICT DO NOTHING`,
      [slug],
    );
}
