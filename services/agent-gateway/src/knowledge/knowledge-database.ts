import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SERVICES } from '@hishamos/contracts';
import { Database, migrate, migrationFiles } from '@hishamos/persistence';
import { REPO_ROOT, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { KnowledgeSettings } from '../config/knowledge.settings';
import { KNOWLEDGE_SETTINGS } from './knowledge.tokens';

/** The schema of the knowledge tables: the gateway's slice, also in a database of its own. */
export const KNOWLEDGE_SCHEMA = SERVICES['agent-gateway'].schema;

export interface OpenedKnowledgeDatabase {
  db: Database;
  /** False when it is the gateway's own database (closed by the platform, not by us). */
  owned: boolean;
  /** Where it lives, for logs: `gateway`, `postgres` or the PGlite data directory. */
  location: string;
  /** pgvector's version (iterative index scans need 0.8). */
  vectorVersion: string;
}

type KnowledgeContext = Pick<ServiceContext, 'db' | 'config'> & Partial<Pick<ServiceContext, 'addReadinessCheck'>>;

/**
 * Opens the knowledge base's database and applies migrations/knowledge: embedded mode uses the
 * gateway's own PGlite (the gateway opens it with pgvector); distributed mode uses
 * KNOWLEDGE_DATABASE_URL (Postgres with pgvector) when set, else PGlite in KNOWLEDGE_DATA_DIR
 * (default <HISHAMOS_DATA_DIR>/knowledge). Debian's Postgres has no pgvector, hence the split.
 */
export async function openKnowledgeDatabase(
  ctx: KnowledgeContext,
  settings: KnowledgeSettings,
  migrationsRoot = join(REPO_ROOT, 'migrations'),
): Promise<OpenedKnowledgeDatabase> {
  let db: Database;
  let owned = true;
  let location: string;
  if (ctx.config.HISHAMOS_MODE === 'embedded') {
    db = ctx.db;
    owned = false;
    location = 'gateway';
  } else if (settings.KNOWLEDGE_DATABASE_URL) {
    await ensureSchema(settings.KNOWLEDGE_DATABASE_URL);
    db = await Database.open({
      kind: 'postgres',
      schema: KNOWLEDGE_SCHEMA,
      url: settings.KNOWLEDGE_DATABASE_URL,
      poolSize: 5,
      applicationName: 'hishamos-knowledge',
    });
    location = 'postgres';
  } else {
    const dir = resolve(settings.KNOWLEDGE_DATA_DIR ?? join(ctx.config.HISHAMOS_DATA_DIR, 'knowledge'));
    mkdirSync(dir, { recursive: true });
    db = await Database.open({ kind: 'pglite', schema: KNOWLEDGE_SCHEMA, dataDir: dir, vector: true });
    location = dir;
  }
  try {
    await migrate(db, migrationFiles(migrationsRoot, 'knowledge'));
    // Query vectors travel in pgvector's binary form (KnowledgeRepository.search).
    await db.sendBinaryParameters('vector');
    const [row] = await db.query<{ extversion: string }>(
      `SELECT extversion FROM pg_extension WHERE extname = 'vector'`,
    );
    return { db, owned, location, vectorVersion: row?.extversion ?? 'unknown' };
  } catch (error: unknown) {
    if (owned) await db.close().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `the knowledge database (${location}) could not be prepared: ${reason}` +
        (/vector/.test(reason)
          ? ' (it needs pgvector: PGlite opened with vector, or Postgres with the extension)'
          : ''),
    );
  }
}

/** Creates the schema when the URL's role may (a provisioned role already owns it). */
async function ensureSchema(url: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [KNOWLEDGE_SCHEMA]);
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${KNOWLEDGE_SCHEMA}`);
  } finally {
    await client.end();
  }
}

/** The knowledge database as a Nest provider: opened (and migrated) at module init, closed at shutdown when ours. */
@Injectable()
export class KnowledgeDatabase implements OnModuleInit, OnApplicationShutdown {
  private opened?: OpenedKnowledgeDatabase;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: KnowledgeContext,
    @Inject(KNOWLEDGE_SETTINGS) private readonly settings: KnowledgeSettings,
  ) {}

  /** Uses an already opened database (tests, tools) instead of opening one at init. */
  static of(opened: OpenedKnowledgeDatabase, settings: KnowledgeSettings, ctx: KnowledgeContext): KnowledgeDatabase {
    const kdb = new KnowledgeDatabase(ctx, settings);
    kdb.opened = opened;
    return kdb;
  }

  async onModuleInit(): Promise<void> {
    if (!this.opened) this.opened = await openKnowledgeDatabase(this.ctx, this.settings);
    if (this.opened.owned) {
      // Its own database: /health/ready reports it (the gateway's own database is checked by the platform).
      this.ctx.addReadinessCheck?.('knowledge-database', async () => {
        try {
          await this.db.ping();
          return { ok: true, location: this.location };
        } catch {
          return { ok: false, location: this.location };
        }
      });
    }
  }

  get db(): Database {
    if (!this.opened) throw new Error('the knowledge database is not open yet');
    return this.opened.db;
  }

  get location(): string {
    return this.opened?.location ?? 'closed';
  }

  /** pgvector 0.8+ can keep scanning the index until enough rows pass a filter. */
  get supportsIterativeScan(): boolean {
    const [major, minor] = (this.opened?.vectorVersion ?? '0.0').split('.').map(Number);
    return major > 0 || minor >= 8;
  }

  async onApplicationShutdown(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened?.owned) await opened.db.close().catch(() => undefined);
  }
}
