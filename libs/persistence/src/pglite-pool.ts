import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';
import { AsyncMutex } from './async-mutex';

/** What node-postgres returns for a query, as far as TypeORM reads it. */
interface PgLikeResult {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: { name: string; dataTypeID: number }[];
}

type Callback<T> = (err: Error | null, value?: T) => void;

function commandOf(sql: string): string {
  const match = /^\s*(?:--[^\n]*\n\s*)*(?:WITH\b[\s\S]*?\)\s*)?([a-zA-Z]+)/.exec(sql);
  return (match?.[1] ?? '').toUpperCase();
}

class PGliteClient extends EventEmitter {
  constructor(
    private readonly db: PGlite,
    private readonly releaseLock: () => void,
  ) {
    super();
  }

  async query(
    sql: string | { text: string; values?: unknown[] },
    params?: unknown[] | Callback<PgLikeResult>,
    cb?: Callback<PgLikeResult>,
  ): Promise<PgLikeResult> {
    const text = typeof sql === 'string' ? sql : sql.text;
    let values = typeof sql === 'string' ? undefined : sql.values;
    let callback = cb;
    if (typeof params === 'function') callback = params;
    else if (params) values = params;
    try {
      const result = await runQuery(this.db, text, values);
      callback?.(null, result);
      return result;
    } catch (error) {
      const err = error as Error;
      callback?.(err);
      throw err;
    }
  }

  release(): void {
    this.releaseLock();
  }
}

async function runQuery(db: PGlite, text: string, values?: unknown[]): Promise<PgLikeResult> {
  if (values && values.length > 0) {
    const r = await db.query(text, values);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length, command: commandOf(text), fields: r.fields };
  }
  const results = await db.exec(text);
  const last = results[results.length - 1];
  return {
    rows: last?.rows ?? [],
    rowCount: last?.affectedRows ?? last?.rows.length ?? 0,
    command: commandOf(text),
    fields: last?.fields ?? [],
  };
}

/**
 * A node-postgres compatible Pool over one PGlite instance, for TypeORM's postgres driver.
 * PGlite is a single session, so a checked-out client holds an exclusive lock until released:
 * a transaction never interleaves with another caller's statements.
 */
export class PGlitePool extends EventEmitter {
  private readonly mutex = new AsyncMutex();
  private ended = false;

  constructor(private readonly db: PGlite) {
    super();
  }

  get waitingCount(): number {
    return this.mutex.queued;
  }

  connect(cb?: (err: Error | null, client?: PGliteClient, done?: () => void) => void): Promise<PGliteClient> {
    const p = (async () => {
      if (this.ended) throw new Error('PGlite pool has been closed');
      const release = await this.mutex.acquire();
      return new PGliteClient(this.db, release);
    })();
    if (cb) {
      p.then(
        (client) => cb(null, client, () => client.release()),
        (err: Error) => cb(err),
      );
    }
    return p;
  }

  async query(sql: string, params?: unknown[]): Promise<PgLikeResult> {
    const client = await this.connect();
    try {
      return await client.query(sql, params);
    } finally {
      client.release();
    }
  }

  end(cb?: (err: Error | null) => void): Promise<void> {
    this.ended = true;
    cb?.(null);
    return Promise.resolve();
  }
}

/** The module object TypeORM expects in its `driver` option (it calls `new driver.Pool(options)`). */
export function pgliteDriverModule(db: PGlite): { Pool: new (options: unknown) => PGlitePool } {
  return {
    Pool: class extends PGlitePool {
      constructor(_options: unknown) {
        super(db);
      }
    },
  };
}
