import { DataSource, type QueryRunner } from 'typeorm';
import type { PGlite } from '@electric-sql/pglite';
import { pgliteDriverModule, type PGlitePool } from './pglite-pool';

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseOptions {
  kind: DatabaseKind;
  /** The service's schema (its slice); every unqualified name resolves there. */
  schema: string;
  /** postgres: connection URL of the service's own role. */
  url?: string;
  /** pglite: data directory; omitted means in-memory. */
  dataDir?: string;
  /** pglite: load pgvector. */
  vector?: boolean;
  poolSize?: number;
  applicationName?: string;
}

export interface QueryResultRows<T> {
  rows: T[];
  rowCount: number;
}

/** Anything that runs SQL: the database itself or an open transaction. */
export interface SqlExecutor {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  run<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResultRows<T>>;
}

export const SCHEMA_NAME = /^[a-z][a-z0-9_]{0,62}$/;

class RunnerExecutor implements SqlExecutor {
  constructor(private readonly runner: QueryRunner) {}
  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.run<T>(sql, params)).rows;
  }
  async run<T>(sql: string, params?: unknown[]): Promise<QueryResultRows<T>> {
    const r = await this.runner.query(sql, params, true);
    return { rows: (r.records ?? []) as T[], rowCount: r.affected ?? r.records?.length ?? 0 };
  }
}

/**
 * One service's database: a TypeORM DataSource on Postgres (node-postgres pool, the service's
 * own role) or on PGlite (embedded, WASM Postgres with pgvector), with the schema as search_path.
 */
export class Database implements SqlExecutor {
  private constructor(
    readonly kind: DatabaseKind,
    readonly schema: string,
    readonly dataSource: DataSource,
    private readonly poolSize: number,
    private readonly pglite?: PGlite,
  ) {}

  static async open(options: DatabaseOptions): Promise<Database> {
    if (!SCHEMA_NAME.test(options.schema)) throw new Error(`invalid schema name: ${options.schema}`);
    const poolSize = options.poolSize ?? 10;
    if (options.kind === 'postgres') {
      if (!options.url) throw new Error('DATABASE_URL is required for postgres');
      const ds = new DataSource({
        type: 'postgres',
        url: options.url,
        schema: options.schema,
        poolSize,
        applicationName: options.applicationName ?? `hishamos-${options.schema}`,
        connectTimeoutMS: 5000,
        extra: { options: `-c search_path=${options.schema}`, idleTimeoutMillis: 30000 },
        logging: false,
      });
      await ds.initialize();
      return new Database('postgres', options.schema, ds, poolSize);
    }
    const { PGlite } = await import('@electric-sql/pglite');
    const extensions: Record<string, unknown> = {};
    if (options.vector) {
      const { vector } = await import('@electric-sql/pglite-pgvector');
      extensions.vector = vector;
    }
    const pglite: PGlite = await PGlite.create({
      dataDir: options.dataDir,
      extensions: extensions as Record<string, never>,
      // Match node-postgres: int8 and numeric come back as strings (exact money math stays exact).
      parsers: { 20: (v: string) => v, 1700: (v: string) => v },
    });
    await pglite.exec(`CREATE SCHEMA IF NOT EXISTS ${options.schema}; SET search_path TO ${options.schema}, public;`);
    const ds = new DataSource({
      type: 'postgres',
      driver: pgliteDriverModule(pglite),
      schema: options.schema,
      logging: false,
    });
    await ds.initialize();
    return new Database('pglite', options.schema, ds, 1, pglite);
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.withRunner((ex) => ex.query<T>(sql, params));
  }

  run<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResultRows<T>> {
    return this.withRunner((ex) => ex.run<T>(sql, params));
  }

  /** Runs `fn` in one transaction: commits when it resolves, rolls back when it throws. */
  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      try {
        const result = await fn(new RunnerExecutor(runner));
        await runner.commitTransaction();
        return result;
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  /**
   * Lets `Buffer` / `Uint8Array` parameters of the named types travel in binary, decoded by the type's
   * receive function (e.g. pgvector's `vector_recv`: int16 dimensions, int16 0, big-endian float4s)
   * instead of a text literal the server must parse. node-postgres already sends Buffer parameters in
   * binary; PGlite does once its serializer for the type's OID passes the bytes through. Call it after
   * the type exists (after migrations); other values of the type are serialized as before.
   */
  async sendBinaryParameters(typeName: string): Promise<void> {
    const pglite = this.pglite;
    if (!pglite) return;
    const rows = await this.query<{ oid: number }>(`SELECT oid::int AS oid FROM pg_type WHERE typname = $1`, [
      typeName,
    ]);
    if (!rows.length) throw new Error(`sendBinaryParameters: no type named ${typeName}`);
    // PGlite's bind step writes a Uint8Array as a binary parameter; its Serializer type says string.
    const serializers = pglite.serializers as Record<number, (value: unknown) => unknown>;
    for (const { oid } of rows) {
      const previous = serializers[oid];
      serializers[oid] = (value) => (value instanceof Uint8Array ? value : previous ? previous(value) : String(value));
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /** In-use connections over the maximum (0..1), for hishamos_db_pool_usage_ratio. */
  poolUsage(): number {
    const driver = this.dataSource.driver as unknown as {
      master?: { totalCount?: number; idleCount?: number; waitingCount?: number } | PGlitePool;
    };
    const pool = driver.master as { totalCount?: number; idleCount?: number; waitingCount?: number } | undefined;
    if (!pool) return 0;
    if (this.kind === 'pglite') return (pool.waitingCount ?? 0) > 0 ? 1 : 0;
    const inUse = (pool.totalCount ?? 0) - (pool.idleCount ?? 0);
    return Math.min(1, inUse / this.poolSize);
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    if (this.pglite && !this.pglite.closed) await this.pglite.close();
  }

  private async withRunner<T>(fn: (ex: SqlExecutor) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return await fn(new RunnerExecutor(runner));
    } finally {
      await runner.release();
    }
  }
}
