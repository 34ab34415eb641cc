import type { Topic, ServiceName } from '@hishamos/contracts';
import type {
  BatchEventHandler,
  EventBus,
  EventHandler,
  Outbox,
  SubscribeBatchOptions,
  SubscribeOptions,
} from '@hishamos/messaging';
import type { Database } from '@hishamos/persistence';
import type { Type } from '@nestjs/common';
import type { PlatformConfig } from './config/platform-config.dto';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';

export const SERVICE_CONTEXT = Symbol('SERVICE_CONTEXT');

/** What every service gets from the platform: its config, its own database, the bus, its outbox, logs and metrics. */
export interface ServiceContext {
  readonly name: ServiceName;
  readonly config: PlatformConfig;
  readonly db: Database;
  readonly bus: EventBus;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  /** Consumes a topic in this service's consumer group for it (hishamos.<service>.<topic>), idempotently. */
  subscribe<T extends Topic>(topic: T, handler: EventHandler<T>, opts?: SubscribeOptions): Promise<void>;
  /** Like `subscribe`, in the same consumer group, with whole batches per transaction (EventBus.subscribeBatch). */
  subscribeBatch<T extends Topic>(topic: T, handler: BatchEventHandler<T>, opts?: SubscribeBatchOptions): Promise<void>;
  /** The consumer group this service uses for a topic: `<KAFKA_TOPIC_PREFIX>.hishamos.<service>.<topic>`. */
  groupOf(topic: Topic): string;
  /** The service's own settings (ServiceDefinition.settings), validated at boot. */
  readonly settings: unknown;
  /** Base URL of another service: its *_URL variable, or where it runs in this process (embedded). */
  urlOf(service: ServiceName): string;
  /** Adds a check to /health/ready (e.g. the secrets backend in use). */
  addReadinessCheck(name: string, check: () => Promise<ReadinessResult>): void;
  readonly readinessChecks: ReadonlyMap<string, () => Promise<ReadinessResult>>;
}

export interface ReadinessResult {
  ok: boolean;
  [detail: string]: unknown;
}

/** The settings a service declared, typed. */
export function settingsOf<T>(ctx: ServiceContext): T {
  return ctx.settings as T;
}

export interface ServiceDefinition {
  readonly name: ServiceName;
  readonly consumes: readonly Topic[];
  readonly publishes: readonly Topic[];
  /** Loads pgvector in the service's database (the knowledge slice). */
  readonly vector?: boolean;
  /** A class-validator class of the service's own environment variables, loaded and validated at boot. */
  readonly settings?: new () => object;
  /** The service's Nest module (controllers, use cases, repositories). */
  readonly module: Type<unknown>;
  /** Called once the HTTP server is up: subscribe consumers, start schedulers. */
  onStart?(ctx: ServiceContext, app: import('@nestjs/common').INestApplication): Promise<void>;
}
