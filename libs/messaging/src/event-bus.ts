import { createHash } from 'node:crypto';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  decodeEvent,
  dlqTopic,
  EventDecodeError,
  SERVICE_NAMES,
  Topics,
  type Envelope,
  type PayloadInit,
  type Topic,
} from '@hishamos/contracts';
import type { Database, SqlExecutor } from '@hishamos/persistence';
import { connectionErrorKind, isNonRetryable } from './errors';
import {
  buildMessage,
  Outbox,
  OutboxRelay,
  transactionWithHooks,
  type OutboxRelayOptions,
  type PublishOptions,
} from './outbox';
import type { ReceivedMessage, Transport, TransportSubscription, WireMessage } from './transport';
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
  /**
   * Attempts before the message goes to <topic>.dlq (default 5). Only failures of the handler count: while
   * the consumer's database cannot be reached (connection refused or reset, SQLSTATE class 08, 57P01-57P03,
   * 53300, "Connection terminated", PGlite closed) the message is retried without a limit.
   */
  maxAttempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Partitions handled at the same time (Kafka; default 1). Each partition stays sequential, so per-key
   * order holds. Each one holds a database connection while it runs: keep it below the pool size.
   */
  concurrency?: number;
  /**
   * The consuming service, named in the DeadLettered events of this subscription. Default: taken from the
   * group (`[<prefix>.]hishamos.<service>.<topic>`), else from the bus's source (`hishamos/<service>`).
   */
  service?: string;
}

export interface SubscribeBatchOptions extends SubscribeOptions {
  /** The most events one handler call (one transaction) gets; a larger fetched batch is split (default 500). */
  maxBatchSize?: number;
  /**
   * The handler is idempotent by a key of its own: handed an event whose effects were written before
   * (a redelivery, the same event under another id), it writes nothing again and publishes nothing.
   * The batch path then records no event ids in `processed_events` (one statement and one row per event
   * less in each transaction); duplicate ids within a batch are still dropped before the handler. The
   * one-at-a-time path (retries, DLQ) records them as usual. Default false.
   */
  idempotentHandler?: boolean;
  /**
   * Kafka: wait up to `gatherMs` for `gatherBytes` of events before handling what arrived (fuller
   * batches, fewer transactions, at the cost of up to `gatherMs` of latency). Default: at once.
   */
  gatherMs?: number;
  gatherBytes?: number;
}

/** Hooks for metrics, wired by the platform (the bus itself imports no metrics library). */
export interface BusObserver {
  processed?(topic: string, group: string, ms: number, outcome: 'ok' | 'duplicate' | 'dlq' | 'retry'): void;
  deadLettered?(topic: string, group: string, reason: string): void;
  published?(topic: string, count: number): void;
}

export interface EventBusOptions {
  /**
   * Masks secret values in error texts before they leave the process (the DLQ's `x-error` header, the
   * DeadLettered event). The platform passes its logger's redaction. URL credentials are always masked.
   */
  redact?: (text: string) => string;
}

/** One subscription's consumer, for readiness. */
export interface ConsumerStatus {
  group: string;
  topic: string;
  /** False while its consumer is down (Kafka: crashed and not yet back in its group). */
  running: boolean;
}

export interface EventBus {
  readonly transportId: string;
  /** Connects and creates the topics (and their DLQs), and the DeadLettered topic. */
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
  /** The broker (or the local log's database) answers, and every subscription's consumer is running. */
  healthy(): Promise<boolean>;
  /** Each subscription's consumer and whether it is running. */
  consumers(): ConsumerStatus[];
  lag(group: string, topics: Topic[]): Promise<Record<string, number>>;
  /** Stops consuming (in-flight batches finish), drains the outboxes, closes the transport. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Backoff while the consumer's database cannot be reached: 200 ms doubling to 5 s, for as long as it takes. */
const OUTAGE_BACKOFF_MS = 200;
const OUTAGE_MAX_BACKOFF_MS = 5000;
const outageDelay = (outages: number) =>
  Math.min(OUTAGE_MAX_BACKOFF_MS, OUTAGE_BACKOFF_MS * 2 ** Math.min(outages - 1, 10));
/** How often a consumer waiting out an outage or a backoff tells the group it is alive. */
const HEARTBEAT_EVERY_MS = 1000;
/** An error text leaves the process at most this long. */
const MAX_ERROR_LENGTH = 1000;

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

/** `scheme://user:password@host` -> `scheme://user:[REDACTED]@host`. */
function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]+@/gi, '$1:[REDACTED]@');
}

/** The service a consumer group belongs to: `[<prefix>.]hishamos.<service>.<anything>`. */
export function serviceOfGroup(group: string): string | undefined {
  return SERVICE_NAMES.find((name) => group.startsWith(`hishamos.${name}.`) || group.includes(`.hishamos.${name}.`));
}

/** A stable UUID-shaped id for one dead-lettering of one record: a redelivered DLQ move announces the same event. */
function deadLetterEventId(group: string, m: ReceivedMessage): string {
  const h = createHash('sha256').update(`${group}\u0000${m.topic}\u0000${m.partition}\u0000${m.offset}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

type Invoke<T extends Topic> = (event: Envelope<T>, ctx: HandlerContext) => Promise<void>;
type Outcome = 'handled' | 'dlq' | 'stopped';

/** What a partition's handler gets from the transport, as the bus uses it while it waits. */
interface PartitionControl {
  isRunning(): boolean;
  heartbeat(): Promise<void>;
}

interface Subscription {
  group: string;
  topic: string;
  service: string;
  handle: TransportSubscription;
}

/** EventBus semantics (idempotency, retries with backoff, DLQ, outbox) over any Transport. */
export class TransportEventBus implements EventBus {
  private readonly subscriptions: Subscription[] = [];
  private readonly relays: { db: Database; relay: OutboxRelay }[] = [];
  private stopping = false;

  constructor(
    readonly transport: Transport,
    private readonly source: string,
    private readonly observer: BusObserver = {},
    private readonly options: EventBusOptions = {},
  ) {}

  get transportId(): string {
    return this.transport.id;
  }

  async start(topics: Topic[]): Promise<void> {
    await this.transport.connect();
    // Every bus may announce a dead letter, so every bus needs the DeadLettered topic.
    const all = [...new Set<Topic>([...topics, Topics.DeadLettered])];
    await this.transport.ensureTopics([...all, ...all.map(dlqTopic)]);
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

  private serviceOf(group: string, opts: SubscribeOptions): string {
    return opts.service ?? serviceOfGroup(group) ?? this.source.replace(/^hishamos\//, '');
  }

  async subscribe<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    handler: EventHandler<T>,
    opts: SubscribeOptions = {},
  ): Promise<void> {
    const outbox = this.consumerOutbox(db);
    const service = this.serviceOf(group, opts);
    const handle = await this.transport.subscribe(
      group,
      [topic],
      async (batch, ctx) => {
        // Fast path: the whole batch in one transaction. A failure of the handler falls back to one message
        // at a time; a database that cannot be reached is waited for, and the batch tried again.
        let decoded: Envelope<T>[] | undefined;
        try {
          decoded = batch.map((m) => decodeEvent(topic, m.key, m.value, m.headers));
        } catch {
          decoded = undefined;
        }
        let failedAt = -1;
        let failure: unknown;
        for (let outages = 1; decoded && batch.length > 1; outages++) {
          const started = Date.now();
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
          if (!(await this.isOutage(db, failure))) break;
          this.observer.processed?.(topic, group, Date.now() - started, 'retry');
          if (!(await this.pause(outageDelay(outages), ctx))) return; // stopping: redelivered later
          failedAt = -1;
          failure = undefined;
        }
        for (let i = 0; i < batch.length; i++) {
          const m = batch[i];
          if (!ctx.isRunning() || this.stopping) return;
          // The message that failed in the batch attempt has used its first attempt already.
          const tried = i === failedAt ? { error: failure } : undefined;
          const outcome = await this.processOne(group, service, topic, db, outbox, handler, m, opts, ctx, tried);
          if (outcome === 'stopped') return; // stopping mid-retry: leave it uncommitted, it is redelivered
          await ctx.commit(m);
          await ctx.heartbeat();
        }
      },
      { concurrency: opts.concurrency },
    );
    this.subscriptions.push({ group, topic, service, handle });
  }

  async subscribeBatch<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    handler: BatchEventHandler<T>,
    opts: SubscribeBatchOptions = {},
  ): Promise<void> {
    const outbox = this.consumerOutbox(db);
    const service = this.serviceOf(group, opts);
    const size = Math.max(1, Math.floor(opts.maxBatchSize ?? 500));
    const claim = !opts.idempotentHandler;
    const one: Invoke<T> = (event, hctx) => handler([event], hctx);
    const handle = await this.transport.subscribe(
      group,
      [topic],
      async (batch, ctx) => {
        let from = 0;
        let outages = 0;
        while (from < batch.length) {
          if (!ctx.isRunning() || this.stopping) return;
          const chunk = batch.slice(from, from + size);
          if (chunk.length > 1) {
            const result = await this.handleChunk(group, topic, db, outbox, handler, chunk, claim);
            if (result === 'ok') {
              outages = 0;
              await ctx.commit(chunk[chunk.length - 1]);
              await ctx.heartbeat();
              from += chunk.length;
              continue;
            }
            if (result === 'outage') {
              // The database cannot be reached: wait for it and try the chunk again (nothing counts as an attempt).
              if (!(await this.pause(outageDelay(++outages), ctx))) return;
              continue;
            }
          }
          // One at a time, with retries and the DLQ, until a message is dead-lettered: the ones after it
          // go back to the batch path (a poison event costs one batch, not the rest of the partition).
          for (const m of chunk) {
            if (!ctx.isRunning() || this.stopping) return;
            const outcome = await this.processOne(group, service, topic, db, outbox, one, m, opts, ctx);
            if (outcome === 'stopped') return; // left uncommitted: redelivered
            await ctx.commit(m);
            await ctx.heartbeat();
            from++;
            if (outcome === 'dlq') break;
          }
        }
      },
      { concurrency: opts.concurrency, gatherMs: opts.gatherMs, gatherBytes: opts.gatherBytes },
    );
    this.subscriptions.push({ group, topic, service, handle });
  }

  /**
   * One transaction for a chunk: claim the ids (unless `claim` is false: the handler is idempotent by its
   * own key, only the chunk's duplicate ids are dropped), hand the new events to the handler. `failed`
   * when it failed (the one-at-a-time path takes over), `outage` when the database could not be reached.
   */
  private async handleChunk<T extends Topic>(
    group: string,
    topic: T,
    db: Database,
    outbox: Outbox,
    handler: BatchEventHandler<T>,
    chunk: ReceivedMessage[],
    claim = true,
  ): Promise<'ok' | 'failed' | 'outage'> {
    const started = Date.now();
    let events: Envelope<T>[];
    try {
      events = chunk.map((m) => decodeEvent(topic, m.key, m.value, m.headers));
    } catch {
      return 'failed'; // the undecodable one is dead-lettered by the one-at-a-time path
    }
    const ids = chunk.map(idempotencyId);
    let fresh = 0;
    try {
      await transactionWithHooks(db, async (tx) => {
        const todo = claim ? await claimFresh(tx, group, ids) : new Set(ids);
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
    } catch (error) {
      if (await this.isOutage(db, error)) {
        this.observer.processed?.(topic, group, Date.now() - started, 'retry');
        return 'outage';
      }
      return 'failed';
    }
    this.observeBatch(topic, group, started, chunk.length, fresh);
    return 'ok';
  }

  private observeBatch(topic: string, group: string, started: number, size: number, fresh: number): void {
    if (!this.observer.processed) return;
    const ms = (Date.now() - started) / size;
    for (let i = 0; i < size; i++) this.observer.processed(topic, group, ms, i < fresh ? 'ok' : 'duplicate');
  }

  /**
   * Whether `error` means the consumer's database cannot be reached, rather than a failing handler. The
   * database's own connection errors say so; a socket-level error (ECONNREFUSED, ...) may also come from
   * something else the handler called (an HTTP API), so it counts as an outage only while `db` does not
   * answer either.
   */
  private async isOutage(db: Database, error: unknown): Promise<boolean> {
    const kind = connectionErrorKind(error);
    if (kind === 'database') return true;
    if (kind === 'none') return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 5000);
    });
    try {
      return await Promise.race([
        db.ping().then(
          () => false,
          () => true,
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits `ms` while the partition is still ours, telling the group the consumer is alive. False when the
   * wait was cut short (stopping, partition revoked or rebalancing): leave the message uncommitted.
   */
  private async pause(ms: number, ctx: PartitionControl): Promise<boolean> {
    const until = Date.now() + ms;
    let beat = Date.now() + HEARTBEAT_EVERY_MS;
    while (Date.now() < until) {
      if (!ctx.isRunning() || this.stopping) return false;
      if (Date.now() >= beat) {
        beat = Date.now() + HEARTBEAT_EVERY_MS;
        const alive = await ctx.heartbeat().then(
          () => true,
          () => false, // a rebalance: hand the partition back, the message is redelivered
        );
        if (!alive) return false;
      }
      await sleep(Math.min(50, Math.max(0, until - Date.now())));
    }
    return ctx.isRunning() && !this.stopping;
  }

  private async processOne<T extends Topic>(
    group: string,
    service: string,
    topic: T,
    db: Database,
    outbox: Outbox,
    invoke: Invoke<T>,
    m: ReceivedMessage,
    opts: SubscribeOptions,
    ctx: PartitionControl,
    tried?: { error: unknown },
  ): Promise<Outcome> {
    const max = opts.maxAttempts ?? 5;
    /** Failed attempts of the handler; a database outage is not one. */
    let attempts = 0;
    let outages = 0;
    let pending = tried;
    for (;;) {
      if (pending) {
        const { error } = pending;
        pending = undefined;
        let delay: number;
        if (error instanceof EventDecodeError || isNonRetryable(error)) {
          await this.deadLetter(group, service, m, error, attempts + 1);
          this.observer.processed?.(topic, group, 0, 'dlq');
          return 'dlq';
        } else if (await this.isOutage(db, error)) {
          delay = outageDelay(++outages);
        } else {
          outages = 0;
          attempts++;
          if (attempts >= max) {
            await this.deadLetter(group, service, m, error, attempts);
            this.observer.processed?.(topic, group, 0, 'dlq');
            return 'dlq';
          }
          delay = Math.min(opts.maxBackoffMs ?? 5000, (opts.backoffMs ?? 200) * 2 ** (attempts - 1));
        }
        this.observer.processed?.(topic, group, 0, 'retry');
        if (!(await this.pause(delay, ctx))) return 'stopped';
      }
      const started = Date.now();
      try {
        const event = decodeEvent(topic, m.key, m.value, m.headers);
        const fresh = await transactionWithHooks(db, async (tx) => {
          const rows = await tx.query(
            `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
            [group, idempotencyId(m)],
          );
          if (rows.length === 0) return false;
          await withConsumeSpan(topic, group, m.headers, () => invoke(event, { tx, outbox, attempt: attempts + 1 }));
          return true;
        });
        this.observer.processed?.(topic, group, Date.now() - started, fresh ? 'ok' : 'duplicate');
        return 'handled';
      } catch (error) {
        pending = { error };
      }
    }
  }

  private redact(text: string): string {
    const masked = maskUrlCredentials(text);
    return (this.options.redact ? this.options.redact(masked) : masked).slice(0, MAX_ERROR_LENGTH);
  }

  /**
   * Moves a record to `<topic>.dlq` with the error in headers and, in the same send, announces it on the
   * DeadLettered topic (keyed by the source topic) — except for records of that topic itself.
   */
  private async deadLetter(
    group: string,
    service: string,
    m: ReceivedMessage,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const e = error as Error & { field?: string; code?: string };
    const reason = this.redact(e?.message ?? String(error));
    const dlq = dlqTopic(m.topic);
    const failedAt = new Date();
    const messages: WireMessage[] = [
      {
        topic: dlq,
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
          'x-failed-at': failedAt.toISOString(),
        },
      },
    ];
    if (m.topic !== Topics.DeadLettered) {
      messages.push(
        buildMessage(
          this.source,
          Topics.DeadLettered,
          {
            topic: m.topic,
            dlqTopic: dlq,
            service,
            consumerGroup: group,
            error: reason,
            attempts,
            recordKey: m.key,
            eventId: m.headers.ce_id ?? '',
            eventType: m.headers.ce_type ?? '',
            at: timestampFromDate(failedAt),
          },
          { key: m.topic, id: deadLetterEventId(group, m) },
        ),
      );
    }
    await this.transport.send(messages);
    this.observer.deadLettered?.(m.topic, group, reason);
  }

  async healthy(): Promise<boolean> {
    if (this.subscriptions.some((s) => !s.handle.running())) return false;
    return this.transport.healthy();
  }

  consumers(): ConsumerStatus[] {
    return this.subscriptions.map((s) => ({ group: s.group, topic: s.topic, running: s.handle.running() }));
  }

  lag(group: string, topics: Topic[]): Promise<Record<string, number>> {
    return this.transport.lag(group, topics);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.subscriptions.map((s) => s.handle.stop()));
    this.subscriptions.length = 0;
    await Promise.allSettled(this.relays.map((r) => r.relay.stop()));
    this.relays.length = 0;
    await this.transport.close();
  }
}
