import {
  CompressionTypes,
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type Message,
  type Producer,
} from 'kafkajs';
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
  /** Backoff between attempts to bring back a crashed consumer: doubles from `initialMs` up to `maxMs`. */
  restartBackoff?: { initialMs?: number; maxMs?: number };
}

function toHeaders(
  raw: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const k in raw) {
    const v = raw[k];
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

/**
 * One subscription's consumer, kept running until `stop()`. kafkajs restarts a crashed consumer only for
 * retriable errors; while the broker is down a consumer crashes with non-retriable ones ("Failed to find
 * group coordinator") and would stay stopped for good. So every crash is handled here: the crashed consumer
 * is disconnected and a new one joins the group, with capped exponential backoff, until it is back (its
 * GROUP_JOIN) or `stop()`. `running()` is false from the crash until the new consumer has joined.
 */
class KafkaSubscription implements TransportSubscription {
  private consumer?: Consumer;
  private committer?: OffsetCommitter;
  /** Incremented per consumer: events and batches of an older consumer are ignored. */
  private generation = 0;
  private joined = false;
  private stopped = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private launching?: Promise<void>;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: ConsumerConfig,
    private readonly topics: string[],
    private readonly handler: BatchHandler,
    private readonly concurrency: number,
    private readonly backoff: { initialMs: number; maxMs: number },
  ) {}

  /** The first consumer: its errors (connect, subscribe) are the caller's. */
  async start(): Promise<void> {
    this.launching = this.launch();
    try {
      await this.launching;
    } finally {
      this.launching = undefined;
    }
  }

  running(): boolean {
    return !this.stopped && this.joined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.joined = false;
    clearTimeout(this.timer);
    await this.launching?.catch(() => undefined);
    await this.committer?.flush();
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async launch(): Promise<void> {
    const generation = ++this.generation;
    const consumer = this.kafka.consumer(this.config);
    const committer = new OffsetCommitter(consumer);
    this.consumer = consumer;
    this.committer = committer;
    this.joined = false;
    const current = () => generation === this.generation && !this.stopped;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (!current()) return;
      this.joined = true;
      this.failures = 0;
    });
    consumer.on(consumer.events.CRASH, () => {
      // kafkajs has disconnected it already (restartOnFailure says no to its own restart).
      if (!current()) return;
      this.joined = false;
      this.scheduleRestart();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    if (!current()) return void (await consumer.disconnect().catch(() => undefined));
    // Resolves once the consumer has joined its group, or crashed trying (CRASH schedules the next one).
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.concurrency,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const messages: ReceivedMessage[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key ? m.key.toString('utf8') : '',
          value: m.value ? new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength) : new Uint8Array(),
          headers: toHeaders(m.headers as Record<string, Buffer | string | undefined>),
        }));
        await this.handler(messages, {
          commit: async (message) => {
            resolveOffset(message.offset);
            committer.add(message.topic, message.partition, (BigInt(message.offset) + 1n).toString());
          },
          isRunning: () => current() && isRunning() && !isStale(),
          heartbeat,
        });
      },
    });
  }

  private scheduleRestart(): void {
    if (this.stopped || this.timer) return;
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(this.failures, 16));
    this.failures++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      const old = this.consumer;
      const previous = this.launching;
      this.launching = (async () => {
        await previous?.catch(() => undefined);
        await old?.disconnect().catch(() => undefined);
        if (this.stopped) return;
        try {
          await this.launch();
        } catch {
          // The broker is still away (connect or subscribe failed): this consumer goes, the next one comes later.
          await this.consumer?.disconnect().catch(() => undefined);
          this.joined = false;
          this.scheduleRestart();
        }
      })().finally(() => {
        this.launching = undefined;
      });
    }, delay);
  }
}

/**
 * Kafka through kafkajs: idempotent producer with acks=all; offsets committed only by the handler.
 * Survives broker outages: a consumer that crashes is replaced (KafkaSubscription), and a producer whose
 * send failed is replaced before the next send (callers — the outbox relay — keep their rows and retry).
 */
export class KafkaTransport implements Transport {
  readonly id = 'kafka' as const;
  private readonly kafka: Kafka;
  private producer?: Promise<Producer>;
  private admin?: Admin;
  private readonly subscriptions = new Set<KafkaSubscription>();

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
    await this.currentProducer();
  }

  /** The connected producer; a new one when the last one failed a send (or has not connected yet). */
  private currentProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      const connecting = producer.connect().then(() => producer);
      this.producer = connecting;
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined;
        producer.disconnect().catch(() => undefined);
      });
    }
    return this.producer;
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
    if (!this.admin) throw new Error('Kafka transport is not connected');
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
    const current = this.currentProducer();
    const producer = await current;
    try {
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic.entries()].map(([topic, ms]) => ({ topic, messages: ms })),
      });
    } catch (error) {
      // kafkajs has retried already. A producer that failed (broker gone, its idempotence sequence out of
      // step with the broker's) is replaced: the next send connects a new one.
      if (this.producer === current) {
        this.producer = undefined;
        producer.disconnect().catch(() => undefined);
      }
      throw error;
    }
  }

  async subscribe(
    group: string,
    topics: string[],
    handler: BatchHandler,
    options: TransportSubscribeOptions = {},
  ): Promise<TransportSubscription> {
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30000;
    const subscription = new KafkaSubscription(
      this.kafka,
      {
        groupId: group,
        allowAutoTopicCreation: false,
        sessionTimeout,
        heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
        maxWaitTimeInMs: options.gatherMs ?? 100,
        ...(options.gatherBytes ? { minBytes: options.gatherBytes } : {}),
        // Never kafkajs's own restart: KafkaSubscription brings back every crashed consumer itself.
        retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => false },
      },
      topics,
      handler,
      Math.max(1, Math.floor(options.concurrency ?? 1)),
      {
        initialMs: this.options.restartBackoff?.initialMs ?? 500,
        maxMs: this.options.restartBackoff?.maxMs ?? 5000,
      },
    );
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.subscriptions.delete(subscription);
      await subscription.stop();
      throw error;
    }
    return {
      running: () => subscription.running(),
      stop: async () => {
        await subscription.stop();
        this.subscriptions.delete(subscription);
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

  /** The cluster answers a metadata request within 5 s. */
  async healthy(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.requireAdmin()
          .describeCluster()
          .then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 5000);
        }),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    for (const s of [...this.subscriptions]) await s.stop().catch(() => undefined);
    this.subscriptions.clear();
    const producer = this.producer;
    this.producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  private requireAdmin(): Admin {
    if (!this.admin) throw new Error('Kafka transport is not connected');
    return this.admin;
  }
}
