import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';

/** usage-metering's Prometheus series (names fixed by deploy/prometheus/rules). No user ids as labels. */
@Injectable()
export class MeteringMetrics {
  readonly cost: Counter<'provider' | 'model' | 'agent'>;
  readonly tokens: Counter<'provider' | 'model' | 'agent' | 'kind'>;
  readonly records: Counter<'priced'>;
  readonly unpriced: Counter<'provider' | 'model'>;
  readonly ingestionLag: Histogram;
  readonly reservations: Counter<'outcome'>;
  readonly reservationsClosed: Counter<'status'>;
  readonly leases: Counter<'outcome'>;
  readonly reservationSeconds: Histogram<'outcome'>;
  readonly reservationBatchSize: Histogram;
  readonly budgetEvents: Counter<'kind'>;
  readonly utilization: Gauge<'scope' | 'period'>;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    const registers = [ctx.metrics.registry];
    this.cost = new Counter({
      name: 'hishamos_ai_cost_dollars_total',
      help: 'Cost of provider calls in USD (priced usage records)',
      labelNames: ['provider', 'model', 'agent'],
      registers,
    });
    this.tokens = new Counter({
      name: 'hishamos_ai_tokens_total',
      help: 'Tokens metered, by kind (input includes cached_input)',
      labelNames: ['provider', 'model', 'agent', 'kind'],
      registers,
    });
    this.records = new Counter({
      name: 'hishamos_usage_records_total',
      help: 'Usage records ingested (each request once)',
      labelNames: ['priced'],
      registers,
    });
    this.unpriced = new Counter({
      name: 'hishamos_unpriced_usage_total',
      help: 'Usage records with no model price at their time (stored with tokens, cost unknown)',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.ingestionLag = new Histogram({
      name: 'hishamos_usage_ingestion_lag_seconds',
      help: 'Time from a provider call to its usage record being committed',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    this.reservations = new Counter({
      name: 'hishamos_budget_reservations_total',
      help: 'Budget reservations answered: granted, denied (hard limit), unpriced (unknown model under a hard limit)',
      labelNames: ['outcome'],
      registers,
    });
    this.reservationsClosed = new Counter({
      name: 'hishamos_budget_reservations_closed_total',
      help: 'Reservations closed: settled by usage, released by the gateway, expired',
      labelNames: ['status'],
      registers,
    });
    this.leases = new Counter({
      name: 'hishamos_budget_leases_total',
      help: 'Budget leases asked for by gateways: granted, near_limit (the gateway reserves per call), unpriced',
      labelNames: ['outcome'],
      registers,
    });
    this.reservationSeconds = new Histogram({
      name: 'hishamos_budget_reservation_seconds',
      help: 'Time to answer a reservation inside the service',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
    this.reservationBatchSize = new Histogram({
      name: 'hishamos_budget_reservation_batch_size',
      help: 'Reservation requests decided together in one database statement',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    });
    this.budgetEvents = new Counter({
      name: 'hishamos_budget_events_total',
      help: 'Budget threshold events published (once per budget, period and threshold)',
      labelNames: ['kind'],
      registers,
    });
    this.utilization = new Gauge({
      name: 'hishamos_budget_utilization_ratio',
      help: 'Spend over the hard limit (soft when no hard) of the most used budget of each scope and period, current periods',
      labelNames: ['scope', 'period'],
      registers,
    });
    for (const kind of ['soft_limit', 'hard_limit']) this.budgetEvents.inc({ kind }, 0);
    for (const outcome of ['granted', 'denied', 'unpriced']) this.reservations.inc({ outcome }, 0);
    for (const outcome of ['granted', 'near_limit', 'unpriced']) this.leases.inc({ outcome }, 0);
  }
}
