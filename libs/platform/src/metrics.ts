import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BusObserver } from '@hishamos/messaging';

/** One registry per service (six can share a process when embedded), with the platform's own series. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly up: Gauge;
  readonly dbPoolUsage: Gauge;
  readonly consumerLag: Gauge;
  readonly dlq: Counter;
  readonly processed: Histogram;
  readonly published: Counter;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: '' });
    this.up = new Gauge({ name: 'hishamos_service_up', help: '1 while the service runs', registers: [this.registry] });
    this.dbPoolUsage = new Gauge({
      name: 'hishamos_db_pool_usage_ratio',
      help: 'Database connections in use over the maximum',
      registers: [this.registry],
    });
    this.consumerLag = new Gauge({
      name: 'hishamos_bus_consumer_lag_messages',
      help: 'Messages behind the consumer group',
      labelNames: ['group', 'topic'],
      registers: [this.registry],
    });
    this.dlq = new Counter({
      name: 'hishamos_bus_dlq_messages_total',
      help: 'Messages moved to a dead-letter topic',
      labelNames: ['topic'],
      registers: [this.registry],
    });
    this.processed = new Histogram({
      name: 'hishamos_bus_handle_seconds',
      help: 'Time to handle one consumed event',
      labelNames: ['topic', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    this.published = new Counter({
      name: 'hishamos_bus_published_total',
      help: 'Events published directly',
      labelNames: ['topic'],
      registers: [this.registry],
    });
  }

  /** Wires the bus's hooks to this registry. */
  busObserver(): BusObserver {
    return {
      processed: (topic, _group, ms, outcome) => this.processed.observe({ topic, outcome }, ms / 1000),
      deadLettered: (topic) => this.dlq.inc({ topic }),
      published: (topic, n) => this.published.inc({ topic }, n),
    };
  }

  /** Creates the series at zero for the given label sets, so the first increase is visible to Prometheus. */
  primeDlq(topics: string[]): void {
    for (const topic of topics) this.dlq.inc({ topic }, 0);
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
