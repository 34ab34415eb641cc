import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SERVICE_NAMES, SERVICES, type ServiceName } from '@hishamos/contracts';
import { migrateCommand } from '@hishamos/cli';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
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
}

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
  brokers: string[] = [];
  adminUrl = '';
  private dropDb?: () => Promise<void>;
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

  async start(services: readonly ServiceName[] = SERVICE_NAMES): Promise<void> {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    this.brokers = await requireKafka();
    const pg = await requirePostgresDatabase('e2e');
    this.adminUrl = pg.url;
    this.dropDb = pg.drop;
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
      SERVICE_TOKEN: this.serviceToken,
      HISHAMOS_DATA_DIR: join(this.dir, 'data', service),
      ALERTMANAGER_WEBHOOK_TOKEN: this.alertmanagerToken,
      ...(service === 'secrets' ? { ENCRYPTION_KEY: `k1:${this.encryptionKey}` } : {}),
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
    await waitFor(
      async () => {
        if (exited) throw new Error(`${service} ${exited}; log: ${p.log}\n${this.tail(service)}`);
        const r = await fetch(`${this.url(service)}/health/ready`, { signal: AbortSignal.timeout(2000) });
        return r.ok;
      },
      { what: `${service} ready`, timeoutMs: 90000, intervalMs: 250 },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.tail(service)}`);
    });
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
    await this.dropDb?.();
  }
}
