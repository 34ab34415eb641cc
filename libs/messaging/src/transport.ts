/** A message as it travels: key, bytes and string headers (CloudEvents binary mode). */
export interface WireMessage {
  topic: string;
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
}

export interface ReceivedMessage extends WireMessage {
  partition: number;
  offset: string;
}

/** What a consumer does with one partition's batch. It must call `commit(offset)` as it goes. */
export type BatchHandler = (
  batch: ReceivedMessage[],
  ctx: { commit(message: ReceivedMessage): Promise<void>; isRunning(): boolean; heartbeat(): Promise<void> },
) => Promise<void>;

export interface TransportSubscription {
  /**
   * Whether the subscription's consumer is consuming: false while it is down (a Kafka consumer that
   * crashed and is not back in its group yet; it is brought back until `stop()`), and after `stop()`.
   */
  running(): boolean;
  stop(): Promise<void>;
}

export interface TransportSubscribeOptions {
  /**
   * Partitions handled at the same time by this subscription (kafkajs `partitionsConsumedConcurrently`;
   * default 1). Each partition's batches stay sequential, so per-key order holds; keep it below the
   * consumer database's pool size. The local log always polls each partition in its own loop.
   */
  concurrency?: number;
  /**
   * Kafka: a fetch waits up to this long for `gatherBytes` to arrive before it returns what it has
   * (kafkajs `maxWaitTimeInMs` / `minBytes`), so a subscription that writes whole batches gets fuller
   * ones at moderate rates. Default: returns as soon as anything is there. The local log ignores it.
   */
  gatherMs?: number;
  gatherBytes?: number;
}

/**
 * The seam between the bus semantics (idempotency, retries, DLQ, outbox) and a broker.
 * Implementations: KafkaTransport (kafkajs) and LocalLogTransport (embedded, a log in the database).
 * Per-key order: messages with the same key go to the same partition and a partition's batches
 * are handled one at a time, in offset order.
 */
export interface Transport {
  readonly id: 'kafka' | 'local';
  connect(): Promise<void>;
  ensureTopics(topics: string[]): Promise<void>;
  /** Resolves once the broker has the messages durably (acks=all). */
  send(messages: WireMessage[]): Promise<void>;
  subscribe(
    group: string,
    topics: string[],
    handler: BatchHandler,
    options?: TransportSubscribeOptions,
  ): Promise<TransportSubscription>;
  /** Messages behind the group's committed offsets, per topic (for lag metrics). */
  lag(group: string, topics: string[]): Promise<Record<string, number>>;
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
