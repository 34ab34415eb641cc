import { Counter, Gauge } from 'prom-client';
import type { ServiceMetrics } from '@hishamos/platform';

/** The secrets service's own series. Labels name actions, outcomes and backends; never paths or values. */
export class SecretsMetrics {
  readonly operations: Counter;
  readonly backend: Gauge;
  readonly reencrypted: Counter;

  constructor(metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    this.operations = new Counter({
      name: 'hishamos_secrets_operations_total',
      help: 'Secret operations by action, outcome (success, denied, error) and backend',
      labelNames: ['action', 'outcome', 'backend'],
      registers,
    });
    this.backend = new Gauge({
      name: 'hishamos_secrets_backend',
      help: '1 for the secret backend in use (vault or local)',
      labelNames: ['backend'],
      registers,
    });
    this.reencrypted = new Counter({
      name: 'hishamos_secrets_reencrypted_values_total',
      help: 'Values re-encrypted under the active master key',
      registers,
    });
  }
}
