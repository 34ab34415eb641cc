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
import {
  buildMessage,
  Outbox,
  OutboxRelay,
  transactionWithHooks,
  type OutboxRelayOptions,
  type PublishOptions,
} from './outbox';
import type { ReceivedMessage, Transport, TransportSubscription } from './transport';
import { withConsumeBatchSpan, withConsumeSpan } from './tracing';

export interface HandlerContext {
  /**
   * The consumer's transaction: the effect, the processed-event record and outbox rows commit together.
   * The bus's transactions also have `onCommit(fn)`: `commitHooksOf(tx)?.onCommit(fn)` runs `fn` once
   * it has committed (never after a rollback).
   */
  tx: SqlExecutor;
  outbox: Outbox;
  attempt: number;
}

export type EventHandler<T extends Topic> = (event: Envelope<T>, ctx: HandlerContext) => Promise<void>;

/**
 * Handles several events in one transaction (`subscribeBatch`): the events of one partition, in offset
 * order (so each key's events are in order), none of them seen before by the group, at most
 * `maxBatchSize` of them. It is also called with a single event when a batch failed and the bus
 * retries its events one at a time.
 */
export type BatchEventHandler<T extends Topic> = (events: Envelope<T>[], ctx: HandlerContext) => Promise<void>;

export interface SubscribeOptions {
  /** Attempts before the message goes to <topic>.dlq (default 5). */
  maxAttempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Partitions handled at the same time (Kafka; default 1). Each partition stays sequential, so per-key
   * order holds. Each one holds a database connection while it runs: keep it below the pool size.
   */
  concurrency?: number;
}

export interface SubscribeBatchOptions extends SubscribeOptions {
  /** The most events one handler call (one transaction) gets; a larger fetched batch is split (default 500). */
  maxBatchSize?: number;
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
  /**
   * Like `subscribe`, but hands the handler a whole batch of new events in one transaction, so it can
   * write their effects in a few statements. Same guarantees: idempotent by event id (duplicates are
   * dropped before the handler sees them), per-key order, offsets committed after the transaction.
   * When the batch's transaction fails, its events are retried one at a time (`handler([event])`)
   * with the usual retries, backoff and DLQ; the failed batch attempt does not count as an attempt.
   */
  subscribeBatch<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    handler: BatchEventHandler<T>,
    opts?: SubscribeBatchOptions,
  ): Promise<void>;
  /** Starts publishing `db`'s outbox. */
  relay(db: Database, outbox: Outbox, options?: OutboxRelayOptions): OutboxRelay;
  healthy(): Promise<boolean>;
  lag(group: string, topics: Topic[]): Promise<Record<string, number>>;
  /** Stops consuming (in-flight batches finish), drains the outboxes, closes the transport. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function idempotencyId(m: ReceivedMessage): string {
  return `${m.headers.ce_source ?? ''}:${m.headers.ce_id ?? `${m.topic}/${m.partition}/${m.offset}`}`;
}

/** Records the ids as processed for `group`; returns the ones that were not processed before. */
async function claimFresh(tx: SqlExecutor, group: string, ids: string[]): Promise<Set<string>> {
  const fresh = await tx.query<{ event_id: string }>(
    `INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id`,
    [group, ids],
  );
  return new Set(fresh.map((r) => r.event_id));
}

type Invoke<T extends Topic> = (event: Envelope<T>, ctx: HandlerContext) => Promise<void>;
type Outcome = 'handled' | 'dlq' | 'stopped';

/** EventBus semantics (idempotency, retries with backoff, DLQ, outbox) over any Transport. */
export class TransportEventBus implements EventBus {
  private readonly subscriptions: TransportSubscription[] = [];
  private readonly relays: { db: Database; relay: OutboxRelay }[] = [];
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

  relay(db: Database, outbox: Outbox, options?: OutboxRelayOptions): OutboxRelay {
    const r = new OutboxRelay(db, this.transport, outbox, options);
    this.relays.push({ db, relay: r });
    r.start();
    return r;
  }

  /** The outbox handlers get: rows they add wake the relays of the same database once the handler's transaction commits. */
  private consumerOutbox(db: Database): Outbox {
    const outbox = new Outbox(this.source);
    outbox.onAdded((committed) => {
      for (const r of this.relays) if (r.db === db) r.relay.wake(committed);
    });
    return outbox;
  }

  async subscribe<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    handler: EventHandler<T>,
    opts: SubscribeOptions = {},
  ): Promise<void> {
    const outbox = this.consumerOutbox(db);
    const sub = await this.transport.subscribe(
      group,
      [topic],
      async (batch, ctx) => {
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
          let fresh = 0;
          const ok = await transactionWithHooks(db, async (tx) => {
            const ids = batch.map(idempotencyId);
            const todo = await claimFresh(tx, group, ids);
            fresh = todo.size;
            for (let i = 0; i < events.length; i++) {
              if (!todo.delete(ids[i])) continue;
              current = i;
              await withConsumeSpan(topic, group, batch[i].headers, () =>
                handler(events[i], { tx, outbox, attempt: 1 }),
              );
            }
            return true;
          }).catch((error) => {
            failedAt = current;
            failure = error;
            return false;
          });
          if (ok) {
            await ctx.commit(batch[batch.length - 1]);
            this.observeBatch(topic, group, started, batch.length, fresh);
            return;
          }
        }
        for (let i = 0; i < batch.length; i++) {
          const m = batch[i];
          if (!ctx.isRunning() || this.stopping) return;
          // The message that failed in the batch attempt has used its first attempt already.
          const tried = i === failedAt ? { attempts: 1, error: failure } : undefined;
          const outcome = await this.processOne(group, topic, db, outbox, handler, m, opts, ctx.isRunning, tried);
          if (outcome === 'stopped') return; // stopping mid-retry: leave it uncommitted, it is redelivered
          await ctx.commit(m);
          await ctx.heartbeat();
        }
      },
      { concurrency: opts.concurrency },
    );
    this.subscriptions.push(sub);
  }

  async subscribeBatch<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    handler: BatchEventHandler<T>,
    opts: SubscribeBatchOptions = {},
  ): Promise<void> {
    const outbox = this.consumerOutbox(db);
    const size = Math.max(1, Math.floor(opts.maxBatchSize ?? 500));
    const one: Invoke<T> = (event, hctx) => handler([event], hctx);
    const sub = await this.transport.subscribe(
      group,
      [topic],
      async (batch, ctx) => {
        let from = 0;
        while (from < batch.length) {
          if (!ctx.isRunning() || this.stopping) return;
          const chunk = batch.slice(from, from + size);
          if (chunk.length > 1 && (await this.handleChunk(group, topic, db, outbox, handler, chunk))) {
            await ctx.commit(chunk[chunk.length - 1]);
            await ctx.heartbeat();
            from += chunk.length;
            continue;
          }
          // One at a time, with retries and the DLQ, until a message is dead-lettered: the ones after it
          // go back to the batch path (a poison event costs one batch, not the rest of the partition).
          for (const m of chunk) {
            if (!ctx.isRunning() || this.stopping) return;
            const outcome = await this.processOne(group, topic, db, outbox, one, m, opts, ctx.isRunning);
            if (outcome === 'stopped') return; // left uncommitted: redelivered
            await ctx.commit(m);
            await ctx.heartbeat();
            from++;
            if (outcome === 'dlq') break;
          }
        }
      },
      { concurrency: opts.concurrency },
    );
    this.subscriptions.push(sub);
  }

  /** One transaction for a chunk: claim the ids, hand the new events to the handler. False when it failed. */
  private async handleChunk<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    outbox: Outbox,
    handler: BatchEventHandler<T>,
    chunk: ReceivedMessage[],
  ): Promise<boolean> {
    const started = Date.now();
    let events: Envelope<T>[];
    try {
      events = chunk.map((m) => decodeEvent(topic, m.key, m.value, m.headers));
    } catch {
      return false; // the undecodable one is dead-lettered by the one-at-a-time path
    }
    const ids = chunk.map(idempotencyId);
    let fresh = 0;
    try {
      await transactionWithHooks(db, async (tx) => {
        const todo = await claimFresh(tx, group, ids);
        const mine: Envelope<T>[] = [];
        const headers: Record<string, string>[] = [];
        for (let i = 0; i < chunk.length; i++) {
          if (!todo.delete(ids[i])) continue; // seen before, or a duplicate within the chunk
          mine.push(events[i]);
          headers.push(chunk[i].headers);
        }
        fresh = mine.length;
        if (mine.length === 0) return;
        await withConsumeBatchSpan(topic, group, headers, () => handler(mine, { tx, outbox, attempt: 1 }));
      });
    } catch {
      return false;
    }
    this.observeBatch(topic, group, started, chunk.length, fresh);
    return true;
  }

  private observeBatch(topic: string, group: string, started: number, size: number, fresh: number): void {
    if (!this.observer.processed) return;
    const ms = (Date.now() - started) / size;
    for (let i = 0; i < size; i++) this.observer.processed(topic, group, ms, i < fresh ? 'ok' : 'duplicate');
  }

  private async processOne<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    outbox: Outbox,
    invoke: Invoke<T>,
    m: ReceivedMessage,
    opts: SubscribeOptions,
    isRunning: () => boolean,
    tried?: { attempts: number; error: unknown },
  ): Promise<Outcome> {
    const max = opts.maxAttempts ?? 5;
    if (tried && (tried.attempts >= max || isNonRetryable(tried.error))) {
      await this.deadLetter(group, m, tried.error, tried.attempts);
      this.observer.processed?.(topic, group, 0, 'dlq');
      return 'dlq';
    }
    for (let attempt = (tried?.attempts ?? 0) + 1; ; attempt++) {
      const started = Date.now();
      try {
        const event = decodeEvent(topic, m.key, m.value, m.headers);
        const fresh = await transactionWithHooks(db, async (tx) => {
          const rows = await tx.query(
            `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
            [group, idempotencyId(m)],
          );
          if (rows.length === 0) return false;
          await withConsumeSpan(topic, group, m.headers, () => invoke(event, { tx, outbox, attempt }));
          return true;
        });
        this.observer.processed?.(topic, group, Date.now() - started, fresh ? 'ok' : 'duplicate');
        return 'handled';
      } catch (error) {
        const final = error instanceof EventDecodeError || isNonRetryable(error) || attempt >= max;
        if (final) {
          await this.deadLetter(group, m, error, attempt);
          this.observer.processed?.(topic, group, Date.now() - started, 'dlq');
          return 'dlq';
        }
        this.observer.processed?.(topic, group, Date.now() - started, 'retry');
        const delay = Math.min(opts.maxBackoffMs ?? 5000, (opts.backoffMs ?? 200) * 2 ** (attempt - 1));
        const until = Date.now() + delay;
        while (Date.now() < until) {
          if (!isRunning() || this.stopping) return 'stopped';
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
    await Promise.allSettled(this.relays.map((r) => r.relay.stop()));
    this.relays.length = 0;
    await this.transport.close();
  }
}
