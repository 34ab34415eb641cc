import { basename, dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Global, Module, type DynamicModule, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { SERVICES, type ServiceName, type Topic } from '@hishamos/contracts';
import { createEventBus, Outbox, type EventBus } from '@hishamos/messaging';
import { Database, migrate, migrationFiles } from '@hishamos/persistence';
import { loadConfig, processEnv, type PlatformConfig } from './config/platform-config.dto';
import { PlatformAuthGuard } from './auth/auth.guard';
import { ApiExceptionFilter } from './http/exception.filter';
import { platformValidationPipe } from './http/validation';
import { HealthController } from './health.controller';
import { createLogger, redactSecretValues, registerSecretValue, type Logger } from './logger';
import { ServiceMetrics } from './metrics';
import { SERVICE_CONTEXT, type ReadinessResult, type ServiceContext, type ServiceDefinition } from './service-context';
import { startTracing, stopTracing } from './tracing';

/** The repository (or image) root: seeds/ and migrations/ live there; compiled code runs from <root>/dist. */
const UP3 = resolve(__dirname, '..', '..', '..');
export const REPO_ROOT = basename(UP3) === 'dist' ? dirname(UP3) : UP3;

class PinoNestLogger implements LoggerService {
  constructor(private readonly pinoLogger: Logger) {}
  log(message: unknown, context?: unknown) {
    this.pinoLogger.debug({ context }, String(message));
  }
  warn(message: unknown, context?: unknown) {
    this.pinoLogger.warn({ context }, String(message));
  }
  error(message: unknown, _trace?: unknown, context?: unknown) {
    this.pinoLogger.error({ context }, String(message));
  }
  debug(message: unknown, context?: unknown) {
    this.pinoLogger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: unknown) {
    this.pinoLogger.trace({ context }, String(message));
  }
}

export interface RunningService {
  readonly definition: ServiceDefinition;
  readonly context: ServiceContext;
  readonly app: INestApplication;
  readonly url: string;
}

export interface PlatformOptions {
  config: PlatformConfig;
  /** Per-service port overrides; otherwise PORT for a lone service, or each service's default port. */
  ports?: Partial<Record<string, number>>;
  migrationsRoot?: string;
  logger?: Logger;
  /** The environment services' own settings are read from (default: the process environment). */
  env?: Record<string, string | undefined>;
}

/** The *_URL variable that points at each service in distributed mode. */
const URL_VARIABLES: Record<ServiceName, keyof PlatformConfig> = {
  'agent-gateway': 'GATEWAY_URL',
  orchestrator: 'ORCHESTRATOR_URL',
  'usage-metering': 'METERING_URL',
  alerting: 'ALERTING_URL',
  'feedback-ml': 'FEEDBACK_URL',
  secrets: 'SECRETS_URL',
};

/**
 * Starts services with one code path for both modes. Embedded: all six in one process, PGlite per
 * service under HISHAMOS_DATA_DIR and the local log as the bus. Distributed: one service per
 * process on Postgres and Kafka. Stops gracefully: HTTP closed, consumers stopped after their
 * in-flight batch, outboxes drained, databases closed.
 */
export class Platform {
  readonly services: RunningService[] = [];
  private bus?: EventBus;
  private busDb?: Database;
  private stopped = false;

  constructor(private readonly options: PlatformOptions) {}

  get eventBus(): EventBus {
    if (!this.bus) throw new Error('platform not started');
    return this.bus;
  }

  /** Where a service is reachable: its *_URL variable, else where it runs here, else its default port. */
  urlOf(service: ServiceName): string {
    const configured = this.options.config[URL_VARIABLES[service]];
    if (typeof configured === 'string' && configured) return configured.replace(/\/$/, '');
    const running = this.services.find((s) => s.definition.name === service);
    if (running) return running.url;
    return `http://127.0.0.1:${SERVICES[service].port}`;
  }

  async start(definitions: ServiceDefinition[]): Promise<RunningService[]> {
    const { config } = this.options;
    // Embedded: the services share this process, so a fresh random token is as good as a configured one.
    if (!config.SERVICE_TOKEN) config.SERVICE_TOKEN = randomBytes(32).toString('base64url');
    registerSecretValue(config.SERVICE_TOKEN);
    await startTracing(definitions.length === 1 ? definitions[0].name : 'hishamos', {
      otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    });
    const topics = [...new Set(definitions.flatMap((d) => [...d.consumes, ...d.publishes]))] as Topic[];
    const busMetrics = new ServiceMetrics(definitions.length === 1 ? definitions[0].name : 'hishamos');
    if (config.HISHAMOS_MODE === 'embedded') {
      const dir = resolve(config.HISHAMOS_DATA_DIR, 'bus');
      mkdirSync(dir, { recursive: true });
      this.busDb = await Database.open({ kind: 'pglite', schema: 'bus', dataDir: dir });
      this.bus = createEventBus(
        { transport: 'local', db: this.busDb, topicPrefix: config.KAFKA_TOPIC_PREFIX },
        'hishamos',
        busMetrics.busObserver(),
        { redact: redactSecretValues },
      );
    } else {
      this.bus = createEventBus(
        {
          transport: 'kafka',
          brokers: config.KAFKA_BROKERS.split(',').map((b) => b.trim()),
          clientId: definitions.map((d) => d.name).join('+'),
          partitions: config.KAFKA_TOPIC_PARTITIONS,
          replicationFactor: config.KAFKA_REPLICATION_FACTOR,
          sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
        },
        definitions.length === 1 ? `hishamos/${definitions[0].name}` : 'hishamos',
        busMetrics.busObserver(),
        { redact: redactSecretValues },
      );
    }
    await this.bus.start(topics);
    for (const def of definitions) this.services.push(await this.startOne(def, definitions.length === 1));
    return this.services;
  }

  private async startOne(def: ServiceDefinition, alone: boolean): Promise<RunningService> {
    const { config } = this.options;
    const bus = this.eventBus;
    const logger = (this.options.logger ?? createLogger(def.name, config.LOG_LEVEL)).child({ service: def.name });
    const schema = SERVICES[def.name].schema;
    let db: Database;
    if (config.HISHAMOS_MODE === 'embedded') {
      const dir = resolve(config.HISHAMOS_DATA_DIR, def.name);
      mkdirSync(dir, { recursive: true });
      db = await Database.open({ kind: 'pglite', schema, dataDir: dir, vector: def.vector });
    } else {
      db = await Database.open({
        kind: 'postgres',
        schema,
        url: config.DATABASE_URL,
        poolSize: config.DATABASE_POOL_SIZE,
      });
    }
    const applied = await migrate(
      db,
      migrationFiles(this.options.migrationsRoot ?? join(REPO_ROOT, 'migrations'), def.name),
    );
    if (applied.length) logger.info({ applied }, 'migrations applied');
    const metrics = new ServiceMetrics(def.name);
    metrics.primeDlq([...def.consumes]);
    const outbox = new Outbox(`hishamos/${def.name}`);
    // One consumer group per service and topic: kafkajs assigns a group's partitions across all its
    // members whatever each subscribed to, so members of one group must share one subscription.
    // The topic prefix namespaces groups too: two installs (or test runs) on one broker never share a group.
    const prefix = config.KAFKA_TOPIC_PREFIX ? `${config.KAFKA_TOPIC_PREFIX}.` : '';
    const groupOf = (topic: string) => `${prefix}hishamos.${def.name}.${topic}`;
    const settings = def.settings ? loadConfig(def.settings, this.options.env ?? processEnv()) : {};
    const readinessChecks = new Map<string, () => Promise<ReadinessResult>>();
    const ctx: ServiceContext = {
      name: def.name,
      config,
      db,
      bus,
      outbox,
      logger,
      metrics,
      subscribe: (topic, handler, opts) => bus.subscribe(groupOf(topic), topic, db, handler, opts),
      subscribeBatch: (topic, handler, opts) => bus.subscribeBatch(groupOf(topic), topic, db, handler, opts),
      groupOf,
      settings,
      urlOf: (service) => this.urlOf(service),
      addReadinessCheck: (name, check) => readinessChecks.set(name, check),
      readinessChecks,
    };
    @Global()
    @Module({
      providers: [
        { provide: SERVICE_CONTEXT, useValue: ctx },
        { provide: APP_GUARD, useClass: PlatformAuthGuard },
        { provide: APP_FILTER, useValue: new ApiExceptionFilter(logger) },
      ],
      exports: [SERVICE_CONTEXT],
    })
    class ContextModule {}
    @Module({ imports: [ContextModule, def.module], controllers: [HealthController] })
    class AppModule {}
    const port =
      this.options.ports?.[def.name] ?? (alone && config.PORT !== undefined ? config.PORT : SERVICES[def.name].port);
    let app: NestFastifyApplication;
    try {
      app = await NestFactory.create<NestFastifyApplication>(
        AppModule as unknown as DynamicModule,
        new FastifyAdapter({ bodyLimit: 1024 * 1024 }),
        {
          logger: new PinoNestLogger(logger),
          abortOnError: false,
        },
      );
      app.useGlobalPipes(platformValidationPipe());
      await app.listen(port, config.HOST);
    } catch (error) {
      // A service that cannot start must not leave its pool (or PGlite) open.
      await db.close().catch(() => undefined);
      throw error;
    }
    const address = app.getHttpServer().address() as { port: number } | null;
    const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${address?.port ?? port}`;
    bus.relay(db, outbox);
    await def.onStart?.(ctx, app);
    metrics.up.set(1);
    const lagTimer = setInterval(() => {
      if (def.consumes.length === 0) return;
      for (const topic of def.consumes) {
        const group = groupOf(topic);
        bus
          .lag(group, [topic])
          .then((lag) => metrics.consumerLag.set({ group, topic }, lag[topic] ?? 0))
          .catch(() => undefined);
      }
    }, 15000);
    lagTimer.unref();
    app.getHttpServer().once('close', () => clearInterval(lagTimer));
    logger.info({ url, db: db.kind, bus: bus.transportId }, 'service started');
    return { definition: def, context: ctx, app, url };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.services) {
      s.context.metrics.up.set(0);
      await s.app.close().catch(() => undefined);
    }
    await this.bus?.stop().catch(() => undefined);
    for (const s of this.services) await s.context.db.close().catch(() => undefined);
    await this.busDb?.close().catch(() => undefined);
    await stopTracing();
  }

  /** Stops cleanly on SIGINT/SIGTERM, then exits. */
  stopOnSignals(onStopped?: () => void): void {
    const handler = (sig: string) => {
      const log = this.services[0]?.context.logger;
      log?.info({ signal: sig }, 'shutting down');
      this.stop()
        .then(() => onStopped?.())
        .finally(() => process.exit(0));
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  }
}

/** The distributed entry point of one service: validated config, start, stop on signals. */
export function runService(definition: ServiceDefinition): void {
  let config: PlatformConfig;
  (async () => {
    const { loadConfig, PlatformConfig: Cfg } = await import('./config/platform-config.dto');
    config = loadConfig(Cfg);
    const platform = new Platform({ config });
    await platform.start([definition]);
    platform.stopOnSignals();
  })().catch((error: Error) => {
    process.stderr.write(`${definition.name} failed to start: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}

/**
 * Records each consumed event once in the service's event_journal: the consumers that prove the
 * plumbing for services whose domain handlers have not landed yet.
 */
export async function journalConsumedEvents(ctx: ServiceContext, topics: readonly Topic[]): Promise<void> {
  for (const topic of topics) {
    await ctx.subscribe(topic, async (event, { tx }) => {
      await tx.query(`INSERT INTO event_journal (event_id, topic, key) VALUES ($1, $2, $3)`, [
        event.attributes.id,
        event.topic,
        event.key,
      ]);
    });
  }
}
