import type { Database } from '@hishamos/persistence';
import { TransportEventBus, type BusObserver, type EventBus, type EventBusOptions } from './event-bus';
import { KafkaTransport } from './kafka-transport';
import { LocalLogTransport } from './local-log-transport';
import type { Transport } from './transport';
import { PrefixedTransport } from './prefixed-transport';

export type BusConfig =
  | {
      transport: 'kafka';
      brokers: string[];
      clientId: string;
      partitions?: number;
      replicationFactor?: number;
      sessionTimeoutMs?: number;
    }
  | { transport: 'local'; db: Database; partitions?: number };

const transports: Record<BusConfig['transport'], (c: BusConfig) => Transport> = {
  kafka: (c) => {
    const k = c as Extract<BusConfig, { transport: 'kafka' }>;
    return new KafkaTransport({
      brokers: k.brokers,
      clientId: k.clientId,
      partitions: k.partitions,
      replicationFactor: k.replicationFactor,
      sessionTimeoutMs: k.sessionTimeoutMs,
    });
  },
  local: (c) => {
    const l = c as Extract<BusConfig, { transport: 'local' }>;
    return new LocalLogTransport(l.db, { partitions: l.partitions });
  },
};

/** Picks the transport by id: Kafka in distributed mode, the local log embedded. */
export function createEventBus(
  config: BusConfig & { topicPrefix?: string },
  source: string,
  observer?: BusObserver,
  options?: EventBusOptions,
): EventBus {
  const transport = transports[config.transport](config);
  return new TransportEventBus(
    config.topicPrefix ? new PrefixedTransport(transport, config.topicPrefix) : transport,
    source,
    observer,
    options,
  );
}
