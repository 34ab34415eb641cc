import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { SERVICE_NAMES, SERVICES, type ServiceName } from '@hishamos/contracts';
import { migrateCommand } from '@hishamos/cli';
import { serviceCredential } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import { Api } from './api';
import { PrivateInfra } from './infra';
import { startPrometheusStack, type PrometheusStack } from './observability';
import { freePort } from './ports';
import { kill9, startProcess, stopProcess, type ManagedProcess } from './processes';

export const REPO = resolve(__dirname, '..', '..');

const URL_VARS: Record<ServiceName, string> = {
  'agent-gateway': 'GATEWAY_URL',
  orchestrator: 'ORCHESTRATOR_URL',
  'usage-metering': 'METERING_URL',
  alerting: 'ALERTING_URL',
  'feedback-ml': 'FEEDBACK_URL',
  secrets: 'SECRETS_URL',
};

export interface HarnessOptions {
  /** Extra environment per service (provider URLs, SMTP, PagerDuty...), or for all of them under '*'. */
  env?: Partial<Record<ServiceName | '*', Record<string, string>>>;
  prometheus?: { pagerDutyUrl: string; pagerDutyRoutingKey: string };
  /**
   * `private` (default): a Kafka broker and a Postgres cluster of the harness's own (scripts/infra on free
   * ports), which the fault scenarios may stop and restart. `shared`: the machine's broker and Postgres
   * (make infra-up) with a fresh database and a topic prefix; they are never stopped.
   */
  infra?: 'private' | 'shared';
}
const alphanumeric = (n: number) =>
  Array.from(randomBytes(n), (b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 62]).join('');

/**
 * The platform as platform teams run it: each of the six services its own OS process in
 * distributed mode on the real Kafka broker and Postgres (fresh database, least-privilege role per
 * service, migrated by `hishamos migrate --all` like the Helm hook), Debian's Prometheus and
 * Alertmanager. Logs of every process are kept under .hishamos/e2e/<run>/ for the secrets check.
 */
export class Harness {
  readonly runId = randomUUID().slice(0, 8);
  readonly dir = join(REPO, '.hishamos', 'e2e', this.runId);
  readonly serviceToken = randomBytes(32).toString('base64url');
  /** The local secret store's master key (the secrets service in distributed mode without Vault). */
  readonly encryptionKey = randomBytes(32).toString('base64');
  readonly topicPrefix = `e2e${this.runId}`;
  readonly passwords = Object.fromEntries(SERVICE_NAMES.map((n) => [n, randomBytes(12).toString('hex')])) as Record<
    ServiceName,
    string
  >;
  /** The gateway's bootstrap admin API key (HISHAMOS_BOOTSTRAP_API_KEY), so it is never printed. */
  readonly adminKey = `hos_${alphanumeric(8).toLowerCase()}_${alphanumeric(40)}`;
  brokers: string[] = [];
  adminUrl = '';
  private dropDb?: () => Promise<void>;
  private infra?: PrivateInfra;
  readonly ports = {} as Record<ServiceName, number>;
  readonly processes = new Map<ServiceName, ManagedProcess>();
  prometheus?: PrometheusStack;

  constructor(private readonly options: HarnessOptions = {}) {}

  url(service: ServiceName): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  /** The database URL a service connects with (its own role). */
  databaseUrl(service: ServiceName): string {
    const u = new URL(this.adminUrl);
    u.username = `hishamos_${SERVICES[service].schema}`;
    u.password = this.passwords[service];
    return u.toString();
  }

  /** The gateway's public API as the bootstrap admin (`.as(key)` for someone else). */
  api(): Api {
    return new Api(this.url('agent-gateway'), this.adminKey);
  }

  /** A new member (created by the bootstrap admin) with an API key of their own, and the API as them. */
  async createMember(
    name: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; key: string; api: Api }> {
    const admin = this.api();
    const user = await admin.expect<{ id: string }>(201, 'POST', '/v1/users', {
      email: `${name.toLowerCase()}-${this.runId}@e2e.example.com`,
      name,
      roles: ['member'],
      ...extra,
    });
    const { key } = await admin.expect<{ key: string }>(201, 'POST', '/v1/api-keys', { name, userId: user.id });
    return { id: user.id, key, api: new Api(this.url('agent-gateway'), key) };
  }

  /** A service's internal API with the credential of `caller` (what another service presents). */
  internal(service: ServiceName, caller: ServiceName): Api {
    return new Api(this.url(service), serviceCredential(this.serviceToken, caller));
  }

  private pool?: Pool;

  /** Queries the install's database as the admin (tables are in each service's schema: schema(service)). */
  async sql<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params: unknown[] = []) {
    this.pool ??= new Pool({ connectionString: this.adminUrl, max: 3 });
    return (await this.pool.query<T>(text, params)).rows;
  }

  schema(service: ServiceName): string {
    return SERVICES[service].schema;
  }

  /** Every secret value this install was given: none may appear in a log, an event, a metric or a trace. */
  secretValues(): Record<string, string> {
    const out: Record<string, string> = {
      SERVICE_TOKEN: this.serviceToken,
      ENCRYPTION_KEY: this.encryptionKey,
      HISHAMOS_BOOTSTRAP_API_KEY: this.adminKey,
      ALERTMANAGER_WEBHOOK_TOKEN: this.alertmanagerToken,
    };
    for (const n of SERVICE_NAMES) out[`database password of ${n}`] = this.passwords[n];
    return out;
  }

  async start(services: readonly ServiceName[] = SERVICE_NAMES): Promise<void> {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    if (this.options.infra === 'shared') {
      this.brokers = await requireKafka();
      const pg = await requirePostgresDatabase('e2e');
      this.adminUrl = pg.url;
      this.dropDb = pg.drop;
    } else {
      const infra = new PrivateInfra(REPO, this.dir, this.runId);
      this.infra = infra;
      this.dropDb = () => infra.destroy();
      await infra.start();
      this.brokers = infra.brokers;
      this.adminUrl = infra.adminUrl;
    }
    const env: Record<string, string | undefined> = { DATABASE_ADMIN_URL: this.adminUrl };
    for (const n of SERVICE_NAMES)
      env[`HISHAMOS_DB_PASSWORD_${n.toUpperCase().replace(/-/g, '_')}`] = this.passwords[n];
    await migrateCommand(['--all'], env, { log: () => undefined });
    for (const n of SERVICE_NAMES) this.ports[n] = await freePort();
    await Promise.all(services.map((s) => this.startService(s)));
    if (this.options.prometheus) {
      this.prometheus = await startPrometheusStack({
        repo: REPO,
        dir: join(this.dir, 'prometheus'),
        targets: Object.fromEntries(services.map((s) => [s, this.url(s)])),
        alertingReceiverUrl: `${this.url('alerting')}/v1/alertmanager/webhook`,
        alertingToken: this.alertmanagerToken,
        pagerDutyUrl: this.options.prometheus.pagerDutyUrl,
        pagerDutyRoutingKey: this.options.prometheus.pagerDutyRoutingKey,
      });
    }
  }

  /** The bearer token Alertmanager presents to the alerting service's receiver. */
  readonly alertmanagerToken = randomBytes(24).toString('base64url');

  serviceEnv(service: ServiceName): Record<string, string | undefined> {
    const urls = Object.fromEntries(SERVICE_NAMES.map((n) => [URL_VARS[n], this.url(n)]));
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_OPTIONS: '',
      SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'),
      HISHAMOS_MODE: 'distributed',
      HOST: '127.0.0.1',
      PORT: String(this.ports[service]),
      LOG_LEVEL: 'info',
      DATABASE_URL: this.databaseUrl(service),
      DATABASE_POOL_SIZE: '10',
      KAFKA_BROKERS: this.brokers.join(','),
      KAFKA_TOPIC_PREFIX: this.topicPrefix,
      KAFKA_TOPIC_PARTITIONS: '3',
      // A killed service's consumers leave their groups after this (Kafka's default 30 s would stall
      // the restarted process's partitions that long).
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      SERVICE_TOKEN: this.serviceToken,
      HISHAMOS_DATA_DIR: join(this.dir, 'data', service),
      ALERTMANAGER_WEBHOOK_TOKEN: this.alertmanagerToken,
      ...(service === 'secrets' ? { ENCRYPTION_KEY: `k1:${this.encryptionKey}` } : {}),
      ...(service === 'agent-gateway' ? { HISHAMOS_BOOTSTRAP_API_KEY: this.adminKey } : {}),
      ...urls,
      ...this.options.env?.['*'],
      ...this.options.env?.[service],
    };
  }

  async startService(service: ServiceName): Promise<void> {
    const p = startProcess(
      service,
      process.execPath,
      ['-r', '@swc-node/register', join(REPO, 'services', service, 'src', 'main.ts')],
      { env: this.serviceEnv(service), cwd: REPO, log: join(this.dir, 'logs', `${service}.log`) },
    );
    this.processes.set(service, p);
    let exited: string | undefined;
    p.child.once('exit', (code, signal) => (exited = `exited (${code ?? signal})`));
    // Ready (database and bus) and started (hishamos_service_up 1: consumers subscribed, seeds loaded).
    const deadline = Date.now() + 240000;
    for (;;) {
      if (exited) throw new Error(`${service} ${exited}; log: ${p.log}\n${this.tail(service)}`);
      const started = await fetch(`${this.url(service)}/health/ready`, { signal: AbortSignal.timeout(2000) })
        .then(async (r) =>
          r.ok
            ? /^hishamos_service_up(\{[^}]*\})? 1$/m.test(
                await (await fetch(`${this.url(service)}/metrics`, { signal: AbortSignal.timeout(2000) })).text(),
              )
            : false,
        )
        .catch(() => false);
      if (started) return;
      if (Date.now() > deadline) throw new Error(`${service} did not start within 240 s\n${this.tail(service)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  tail(service: ServiceName, lines = 30): string {
    try {
      return readFileSync(join(this.dir, 'logs', `${service}.log`), 'utf8')
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  /** kill -9 a service, then start it again and wait until it is ready. */
  async crashAndRestart(service: ServiceName, downMs = 0): Promise<void> {
    await kill9(this.processes.get(service)!);
    if (downMs) await new Promise((r) => setTimeout(r, downMs));
    await this.startService(service);
  }

  private privateInfra(): PrivateInfra {
    if (!this.infra) throw new Error('the shared Kafka and Postgres are never stopped by tests: use infra: private');
    return this.infra;
  }

  /** Stops the harness's Kafka broker (scripts/infra/kafka.sh stop). */
  stopKafka(): Promise<void> {
    return this.privateInfra().stopKafka();
  }

  /** Starts the broker again (its data kept). */
  startKafka(): Promise<void> {
    return this.privateInfra().startKafka();
  }

  /** Stops the harness's Postgres (scripts/infra/postgres.sh stop: fast shutdown, connections cut). */
  async stopPostgres(): Promise<void> {
    const infra = this.privateInfra();
    await this.pool?.end().catch(() => undefined);
    this.pool = undefined;
    await infra.stopPostgres();
  }

  startPostgres(): Promise<void> {
    return this.privateInfra().startPostgres();
  }

  /** Every log file the harness captured (services, Prometheus, Alertmanager). */
  logFiles(): string[] {
    const files = readdirSync(join(this.dir, 'logs')).map((f) => join(this.dir, 'logs', f));
    if (this.prometheus)
      files.push(join(this.dir, 'prometheus', 'prometheus.log'), join(this.dir, 'prometheus', 'alertmanager.log'));
    return files;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => stopProcess(p)));
    await this.prometheus?.stop();
    await this.pool?.end().catch(() => undefined);
    await this.dropDb?.();
  }
}
