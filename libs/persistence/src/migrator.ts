import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Client } from 'pg';
import { SCHEMA_NAME, type Database } from './database';

const FILE = /^\d{4}_[a-z0-9_]+\.sql$/;

export interface MigrationFile {
  id: string;
  sql: string;
}

/** The platform migrations (outbox, processed events) then the service's own, in order. */
export function migrationFiles(migrationsRoot: string, service: string): MigrationFile[] {
  const dirs = [join(migrationsRoot, '_platform'), join(migrationsRoot, service)];
  const files: MigrationFile[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      if (!FILE.test(name)) throw new Error(`migration file name must look like 0001_name.sql: ${join(dir, name)}`);
      files.push({ id: `${basename(dir)}/${name}`, sql: readFileSync(join(dir, name), 'utf8') });
    }
  }
  return files;
}

/**
 * Applies pending migrations to the database's schema, each in its own transaction together
 * with its row in <schema>.schema_migrations. An advisory lock keeps two replicas from racing.
 */
export async function migrate(db: Database, files: MigrationFile[]): Promise<string[]> {
  await db.query(
    `CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  const applied: string[] = [];
  for (const file of files) {
    const done = await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`migrate:${db.schema}`]);
      const seen = await tx.query(`SELECT 1 FROM schema_migrations WHERE id = $1`, [file.id]);
      if (seen.length > 0) return false;
      await tx.query(file.sql);
      await tx.query(`INSERT INTO schema_migrations (id) VALUES ($1)`, [file.id]);
      return true;
    });
    if (done) applied.push(file.id);
  }
  return applied;
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

async function retryCatalogRace<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const e = error as { code?: string; message?: string };
      const race = (e.code === 'XX000' && /concurrently/.test(e.message ?? '')) || e.code === '23505';
      if (!race || attempt >= 5) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/**
 * Postgres only: creates the service's schema and a login role that owns it and can touch
 * nothing else (least privilege). Idempotent; the password is (re)set each time.
 * Returns the service's connection URL.
 */
export async function provisionServiceRole(adminUrl: string, schema: string, password: string): Promise<string> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  const role = `hishamos_${schema}`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('hishamos-provision'))`);
    // Roles are cluster-wide but the advisory lock is per database: provisioning in two databases of one
    // cluster at once can race on the role's catalog row ("tuple concurrently updated", or a duplicate
    // pg_authid key when both create it). Such a race is retried; the statements are idempotent.
    await retryCatalogRace(async () => {
      const exists = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
      if (exists.rowCount === 0) await client.query(`CREATE ROLE ${role} LOGIN PASSWORD ${quoteLiteral(password)}`);
      else await client.query(`ALTER ROLE ${role} LOGIN PASSWORD ${quoteLiteral(password)}`);
    });
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${role}`);
    await client.query(`ALTER SCHEMA ${schema} OWNER TO ${role}`);
    await retryCatalogRace(() => client.query(`ALTER ROLE ${role} SET search_path = ${schema}`));
    await client.query(`REVOKE ALL ON SCHEMA public FROM ${role}`);
    const db = (await client.query(`SELECT current_database() AS d`)).rows[0].d as string;
    await client.query(`REVOKE CREATE, TEMPORARY ON DATABASE "${db}" FROM PUBLIC`);
    await client.query(`GRANT CONNECT ON DATABASE "${db}" TO ${role}`);
    await client.query(`SELECT pg_advisory_unlock(hashtext('hishamos-provision'))`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.username = role;
  url.password = password;
  return url.toString();
}
