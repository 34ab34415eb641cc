import {
  decodeEvent,
  dlqTopic,
  EventDecodeError,
  type Envelope,
  type PayloadInit,
  type Topic,
} from '@hishamos/contracts';
import type { Database, SqlExecutor } from '@hishamos/persistence';
import { isNonRetryable } from './errors';
import { buildMessage, Outbox, OutboxRelay, type PublishOptions } from './outbox';
import type { ReceivedMessage, Transport, TransportSubscription } from './transport';
import { withConsumeSpan } from './tracing';

export interface HandlerContext {
  /** The consumer's transaction: the effect, the processed-event record and outbox rows commit together. */
  tx: SqlExecutor;
  outbox: Outbox;
  attempt: number;
}

export type EventHandler<T extends Topic> = (event: Envelope<T>, ctx: HandlerContext) => Promise<void>;

export interface SubscribeOptions {
  /** Attempts before the message goes to <topic>.dlq (default 5). */
  maxAttempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Hooks for metrics, wired by the platform (the bus itself imports no metrics library). */
export interface BusObserver {
  processed?(topic: string, group: string, ms: number, outcome: 'ok' | 'duplicate' | 'dlq' | 'retry'): void;
  deadLettered?(topic: string, group: string, reason: string): void;
  published?(topic: string, count: number): void;
}

export interface EventBus {
  readonly transportId: string;
  /** Connects and creates the topics (and their DLQs). */
  start(topics: Topic[]): Promise<void>;
  /** Publishes directly (no transaction). Prefer `outbox.add` inside a state change's transaction. */
  publish<T extends Topic>(topic: T, payload: PayloadInit<T>, opts: PublishOptions): Promise<string>;
  /** Consumes a topic in a group, idempotently, recording processed ids in `db`'s schema. */
  subscribe<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    handler: EventHandler<T>,
    opts?: SubscribeOptions,
  ): Promise<void>;
  /** Starts publishing `db`'s outbox. */
  relay(db: Database, outbox: Outbox): OutboxRelay;
  healthy(): Promise<boolean>;
  lag(group: string, topics: Topic[]): Promise<Record<string, number>>;
  /** Stops consuming (in-flight batches finish), drains the outboxes, closes the transport. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function idempotencyId(m: ReceivedMessage): string {
  return `${m.headers.ce_source ?? ''}:${m.headers.ce_id ?? `${m.topic}/${m.partition}/${m.offset}`}`;
}

/** EventBus semantics (idempotency, retries with backoff, DLQ, outbox) over any Transport. */
export class TransportEventBus implements EventBus {
  private readonly subscriptions: TransportSubscription[] = [];
  private readonly relays: OutboxRelay[] = [];
  private stopping = false;

  constructor(
    readonly transport: Transport,
    private readonly source: string,
    private readonly observer: BusObserver = {},
  ) {}

  get transportId(): string {
    return this.transport.id;
  }

  async start(topics: Topic[]): Promise<void> {
    await this.transport.connect();
    await this.transport.ensureTopics([...topics, ...topics.map(dlqTopic)]);
  }

  async publish<T extends Topic>(topic: T, payload: PayloadInit<T>, opts: PublishOptions): Promise<string> {
    const m = buildMessage(this.source, topic, payload, opts);
    await this.transport.send([m]);
    this.observer.published?.(topic, 1);
    return m.id;
  }

  relay(db: Database, outbox: Outbox): OutboxRelay {
    const r = new OutboxRelay(db, this.transport, outbox);
    this.relays.push(r);
    r.start();
    return r;
  }

  async subscribe<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    handler: EventHandler<T>,
    opts: SubscribeOptions = {},
  ): Promise<void> {
    const outbox = new Outbox(this.source);
    const sub = await this.transport.subscribe(group, [topic], async (batch, ctx) => {
      // Fast path: the whole batch in one transaction. Any failure falls back to one message at a time.
      const started = Date.now();
      let decoded: Envelope<T>[] | undefined;
      try {
        decoded = batch.map((m) => decodeEvent(topic, m.key, m.value, m.headers));
      } catch {
        decoded = undefined;
      }
      let failedAt = -1;
      let failure: unknown;
      if (decoded && batch.length > 1) {
        const events = decoded;
        let current = -1;
        const ok = await db
          .transaction(async (tx) => {
            const ids = batch.map(idempotencyId);
            const fresh = await tx.query<{ event_id: string }>(
              `INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id`,
              [group, ids],
            );
            const todo = new Set(fresh.map((r) => r.event_id));
            for (let i = 0; i < events.length; i++) {
              if (!todo.delete(ids[i])) continue;
              current = i;
              await withConsumeSpan(topic, group, batch[i].headers, () =>
                handler(events[i], { tx, outbox, attempt: 1 }),
              );
            }
            return true;
          })
          .catch((error) => {
            failedAt = current;
            failure = error;
            return false;
          });
        if (ok) {
          await ctx.commit(batch[batch.length - 1]);
          const ms = (Date.now() - started) / batch.length;
          for (let i = 0; i < batch.length; i++) this.observer.processed?.(topic, group, ms, 'ok');
          return;
        }
      }
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i];
        if (!ctx.isRunning() || this.stopping) return;
        // The message that failed in the batch attempt has used its first attempt already.
        const tried = i === failedAt ? { attempts: 1, error: failure } : undefined;
        const done = await this.processOne(group, topic, db, outbox, handler, m, opts, ctx.isRunning, tried);
        if (!done) return; // stopping mid-retry: leave it uncommitted, it is redelivered
        await ctx.commit(m);
        await ctx.heartbeat();
      }
    });
    this.subscriptions.push(sub);
  }

  private async processOne<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    outbox: Outbox,
    handler: EventHandler<T>,
    m: ReceivedMessage,
    opts: SubscribeOptions,
    isRunning: () => boolean,
    tried?: { attempts: number; error: unknown },
  ): Promise<boolean> {
    const max = opts.maxAttempts ?? 5;
    if (tried && (tried.attempts >= max || isNonRetryable(tried.error))) {
      await this.deadLetter(group, m, tried.error, tried.attempts);
      this.observer.processed?.(topic, group, 0, 'dlq');
      return true;
    }
    for (let attempt = (tried?.attempts ?? 0) + 1; ; attempt++) {
      const started = Date.now();
      try {
        const event = decodeEvent(topic, m.key, m.value, m.headers);
        const fresh = await db.transaction(async (tx) => {
          const rows = await tx.query(
            `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
            [group, idempotencyId(m)],
          );
          if (rows.length === 0) return false;
          await withConsumeSpan(topic, group, m.headers, () => handler(event, { tx, outbox, attempt }));
          return true;
        });
        this.observer.processed?.(topic, group, Date.now() - started, fresh ? 'ok' : 'duplicate');
        return true;
      } catch (error) {
        const final = error instanceof EventDecodeError || isNonRetryable(error) || attempt >= max;
        if (final) {
          await this.deadLetter(group, m, error, attempt);
          this.observer.processed?.(topic, group, Date.now() - started, 'dlq');
          return true;
        }
        this.observer.processed?.(topic, group, Date.now() - started, 'retry');
        const delay = Math.min(opts.maxBackoffMs ?? 5000, (opts.backoffMs ?? 200) * 2 ** (attempt - 1));
        const until = Date.now() + delay;
        while (Date.now() < until) {
          if (!isRunning() || this.stopping) return false;
          await sleep(Math.min(50, until - Date.now()));
        }
      }
    }
  }

  private async deadLetter(group: string, m: ReceivedMessage, error: unknown, attempts: number): Promise<void> {
    const e = error as Error & { field?: string; code?: string };
    const reason = (e?.message ?? String(error)).slice(0, 1000);
    await this.transport.send([
      {
        topic: dlqTopic(m.topic),
        key: m.key,
        value: m.value,
        headers: {
          ...m.headers,
          'x-error': reason,
          'x-error-class': e?.name ?? 'Error',
          ...(e?.field ? { 'x-error-field': e.field } : {}),
          ...(e?.code ? { 'x-error-code': String(e.code) } : {}),
          'x-attempts': String(attempts),
          'x-original-topic': m.topic,
          'x-original-partition': String(m.partition),
          'x-original-offset': m.offset,
          'x-consumer-group': group,
          'x-failed-at': new Date().toISOString(),
        },
      },
    ]);
    this.observer.deadLettered?.(m.topic, group, reason);
  }

  healthy(): Promise<boolean> {
    return this.transport.healthy();
  }

  lag(group: string, topics: Topic[]): Promise<Record<string, number>> {
    return this.transport.lag(group, topics);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.subscriptions.map((s) => s.stop()));
    this.subscriptions.length = 0;
    await Promise.allSettled(this.relays.map((r) => r.stop()));
    this.relays.length = 0;
    await this.transport.close();
  }
}
