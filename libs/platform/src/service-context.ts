import type { Topic, ServiceName } from '@hishamos/contracts';
import type { EventBus, EventHandler, Outbox, SubscribeOptions } from '@hishamos/messaging';
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
}

export interface ServiceDefinition {
  readonly name: ServiceName;
  readonly consumes: readonly Topic[];
  readonly publishes: readonly Topic[];
  /** Loads pgvector in the service's database (the knowledge slice). */
  readonly vector?: boolean;
  /** The service's Nest module (controllers, use cases, repositories). */
  readonly module: Type<unknown>;
  /** Called once the HTTP server is up: subscribe consumers, start schedulers. */
  onStart?(ctx: ServiceContext, app: import('@nestjs/common').INestApplication): Promise<void>;
}
