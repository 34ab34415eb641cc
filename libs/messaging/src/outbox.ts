import { encodeEvent, type PayloadInit, type Topic } from '@hishamos/contracts';
import type { Database, SqlExecutor } from '@hishamos/persistence';
import type { Transport, WireMessage } from './transport';
import { injectTrace } from './tracing';

export interface PublishOptions {
  /** The entity whose events must stay in order (a workflow run, a user). */
  key: string;
  /** Event id; a new UUID when absent. Consumers deduplicate on source + id. */
  id?: string;
  subject?: string;
  headers?: Record<string, string>;
}

export function buildMessage<T extends Topic>(
  source: string,
  topic: T,
  payload: PayloadInit<T>,
  opts: PublishOptions,
): WireMessage & { id: string } {
  const ev = encodeEvent(topic, payload, {
    key: opts.key,
    source,
    id: opts.id,
    subject: opts.subject,
    headers: injectTrace({ ...(opts.headers ?? {}) }),
  });
  return { topic, key: ev.key, value: ev.value, headers: ev.headers, id: ev.id };
}

/** Writes events to the service's outbox table inside the caller's transaction. */
export class Outbox {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly source: string) {}

  async add<T extends Topic>(
    tx: SqlExecutor,
    topic: T,
    payload: PayloadInit<T>,
    opts: PublishOptions,
  ): Promise<string> {
    const m = buildMessage(this.source, topic, payload, opts);
    await tx.query(`INSERT INTO outbox (event_id, topic, key, payload, headers) VALUES ($1, $2, $3, $4, $5::jsonb)`, [
      m.id,
      topic,
      m.key,
      Buffer.from(m.value),
      JSON.stringify(m.headers),
    ]);
    for (const l of this.listeners) setImmediate(l);
    return m.id;
  }

  onAdded(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface OutboxRelayOptions {
  batchSize?: number;
  pollIntervalMs?: number;
}

/**
 * Publishes outbox rows in id order and deletes them in the same transaction. One relay per
 * schema is active at a time (advisory lock), rows are claimed FOR UPDATE SKIP LOCKED, and a
 * crash between publish and commit republishes (consumers deduplicate): nothing is lost.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private unsubscribe?: () => void;

  constructor(
    private readonly db: Database,
    private readonly transport: Transport,
    private readonly outbox: Outbox | undefined,
    private readonly options: OutboxRelayOptions = {},
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.outbox?.onAdded(() => this.wakeUp?.());
    this.loop = this.run();
  }

  /** Publishes one batch; returns how many rows it published. */
  async relayOnce(): Promise<number> {
    const limit = this.options.batchSize ?? 500;
    return this.db.transaction(async (tx) => {
      const [lock] = await tx.query<{ ok: boolean }>(
        `SELECT pg_try_advisory_xact_lock(hashtext('outbox:' || current_schema())) AS ok`,
      );
      if (!lock.ok) return 0;
      const rows = await tx.query<{
        id: string;
        topic: string;
        key: string;
        payload: Buffer | Uint8Array;
        headers: Record<string, string>;
      }>(
        `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id::text AS id, topic, key, payload, headers`,
        [limit],
      );
      if (rows.length === 0) return 0;
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      await this.transport.send(
        rows.map((r) => ({ topic: r.topic, key: r.key, value: new Uint8Array(r.payload), headers: r.headers })),
      );
      return rows.length;
    });
  }

  /** Drains the outbox (graceful shutdown), then stops. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.wakeUp?.();
    await this.loop;
    for (let i = 0; i < 100; i++) {
      const n = await this.relayOnce().catch(() => 0);
      if (n === 0) break;
    }
  }

  private async run(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 100;
    while (this.running) {
      let n = 0;
      try {
        n = await this.relayOnce();
      } catch {
        n = 0; // broker or database down: rows stay, retry after the poll interval
      }
      if (n > 0) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, poll);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }
}
