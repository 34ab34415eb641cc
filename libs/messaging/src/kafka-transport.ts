import { Kafka, logLevel, type Admin, type Consumer, type Message, type Producer, CompressionTypes } from 'kafkajs';
import type {
  BatchHandler,
  ReceivedMessage,
  Transport,
  TransportSubscribeOptions,
  TransportSubscription,
  WireMessage,
} from './transport';

export interface KafkaTransportOptions {
  brokers: string[];
  clientId: string;
  partitions?: number;
  replicationFactor?: number;
  /** How long a silent group member keeps its partitions before a rebalance (Kafka's minimum is 6000). */
  sessionTimeoutMs?: number;
  /** kafkajs log level; the platform's logger handles our own logs. */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info';
}

function toHeaders(
  raw: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (v === undefined) continue;
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    out[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return out;
}

/**
 * Commits a consumer's offsets in the background, at most one request in flight: offsets that arrive
 * meanwhile are merged (the highest per partition) into the next request. The handler does not wait
 * for the broker, so a partition's next batch starts one round trip earlier. A commit still happens
 * only after the handler's transaction committed; one that fails or is lost (crash, rebalance) means
 * the messages are delivered again, and consumers deduplicate them.
 */
class OffsetCommitter {
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private inFlight?: Promise<void>;

  constructor(private readonly consumer: Consumer) {}

  add(topic: string, partition: number, offset: string): void {
    const key = `${topic}\u0000${partition}`;
    const prev = this.pending.get(key);
    if (!prev || BigInt(offset) > BigInt(prev.offset)) this.pending.set(key, { topic, partition, offset });
    this.inFlight ??= this.drain();
  }

  /** Resolves once every offset added so far has been sent (or failed). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const offsets = [...this.pending.values()];
        this.pending.clear();
        await this.consumer.commitOffsets(offsets).catch(() => undefined); // kafkajs has retried already
      }
    } finally {
      this.inFlight = undefined;
    }
  }
}

/** Kafka through kafkajs: idempotent producer with acks=all; offsets committed only by the handler. */
export class KafkaTransport implements Transport {
  readonly id = 'kafka' as const;
  private readonly kafka: Kafka;
  private producer?: Producer;
  private admin?: Admin;
  private readonly consumers = new Set<Consumer>();

  constructor(private readonly options: KafkaTransportOptions) {
    const level = { nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO }[
      options.logLevel ?? 'nothing'
    ];
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: level,
      retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
      connectionTimeout: 3000,
    });
  }

  async connect(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
  }

  async ensureTopics(topics: string[]): Promise<void> {
    const admin = this.requireAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    let createError: unknown;
    if (missing.length > 0) {
      // Several services boot at once and race to create the same topics: "already exists", or a
      // metadata read that is briefly behind, is not a failure; the wait below decides.
      await admin
        .createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.options.partitions ?? 6,
            replicationFactor: this.options.replicationFactor ?? 1,
          })),
        })
        .catch((e: unknown) => {
          createError = e;
        });
    }
    // A topic another process just created may not have leaders in this client's metadata yet.
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        const meta = await admin.fetchTopicMetadata({ topics });
        const ready = meta.topics.every(
          (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0),
        );
        if (ready) return;
      } catch (e) {
        if (Date.now() > deadline) throw createError ?? e;
      }
      if (Date.now() > deadline)
        throw createError ?? new Error(`Kafka topics have no leaders after 30 s: ${topics.join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async send(messages: WireMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = this.producer;
    if (!producer) throw new Error('Kafka transport is not connected');
    const byTopic = new Map<string, Message[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      // A Buffer view of the bytes, not a copy.
      const value = Buffer.isBuffer(m.value)
        ? m.value
        : Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength);
      list.push({ key: m.key, value, headers: m.headers });
    }
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic.entries()].map(([topic, ms]) => ({ topic, messages: ms })),
    });
  }

  async subscribe(
    group: string,
    topics: string[],
    handler: BatchHandler,
    options: TransportSubscribeOptions = {},
  ): Promise<TransportSubscription> {
    const consumer = this.kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30000,
      heartbeatInterval: Math.min(3000, Math.floor((this.options.sessionTimeoutMs ?? 30000) / 3)),
      maxWaitTimeInMs: 100,
      retry: { retries: 10, initialRetryTime: 300 },
    });
    this.consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    let running = true;
    const committer = new OffsetCommitter(consumer);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, Math.floor(options.concurrency ?? 1)),
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const messages: ReceivedMessage[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key ? m.key.toString('utf8') : '',
          value: m.value ? new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength) : new Uint8Array(),
          headers: toHeaders(m.headers as Record<string, Buffer | string | undefined>),
        }));
        await handler(messages, {
          commit: async (message) => {
            resolveOffset(message.offset);
            committer.add(message.topic, message.partition, (BigInt(message.offset) + 1n).toString());
          },
          isRunning: () => running && isRunning() && !isStale(),
          heartbeat,
        });
      },
    });
    return {
      stop: async () => {
        running = false;
        await committer.flush();
        await consumer.disconnect();
        this.consumers.delete(consumer);
      },
    };
  }

  async lag(group: string, topics: string[]): Promise<Record<string, number>> {
    const admin = this.requireAdmin();
    const out: Record<string, number> = {};
    const committed = await admin.fetchOffsets({ groupId: group, topics });
    for (const t of committed) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      let lag = 0;
      for (const p of t.partitions) {
        const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? 0);
        const at =
          Number(p.offset) < 0 ? Number(ends.find((e) => e.partition === p.partition)?.low ?? 0) : Number(p.offset);
        lag += Math.max(0, end - at);
      }
      out[t.topic] = lag;
    }
    return out;
  }

  async healthy(): Promise<boolean> {
    try {
      await this.requireAdmin().describeCluster();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.consumers]) await c.disconnect().catch(() => undefined);
    this.consumers.clear();
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  private requireAdmin(): Admin {
    if (!this.admin) throw new Error('Kafka transport is not connected');
    return this.admin;
  }
}
