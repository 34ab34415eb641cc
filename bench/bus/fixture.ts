import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client, Client as PgClient } from 'pg';
import { encodePayload, Topics, type PayloadInit } from '@hishamos/contracts';
import { Database, migrate, migrationFiles, provisionServiceRole } from '@hishamos/persistence';
import { PG_ADMIN_URL } from '@hishamos/testing';

export const REPO = join(__dirname, '..', '..');
export const TOPIC = Topics.TaskRequested;
/** Header carrying the produce time (epoch ms, fractional) for per-event latency. */
export const SENT_HEADER = 'x-bench-sent';

/** A realistic TaskRequested; `pad` fills `inputs.notes` up to the target size. */
export function taskPayload(i: number, pad: string): PayloadInit<typeof TOPIC> {
  return {
    taskId: `task-${String(i).padStart(8, '0')}`,
    requestedBy: `user-${i % 64}`,
    teamId: 'team-platform',
    agent: 'coding',
    command: 'write_code',
    priority: 'normal',
    inputs: {
      language: 'typescript',
      repository: 'git.example.internal/platform/billing',
      ticket: `BILL-${1000 + (i % 9000)}`,
      notes: pad,
    },
  };
}

/** The padding that makes the protobuf payload `target` bytes (or the closest size above it). */
export function payloadPad(target: number): string {
  const size = (pad: string) => encodePayload(TOPIC, taskPayload(0, pad)).length;
  let pad = '';
  for (let i = 0; i < 8 && size(pad) !== target; i++) pad = 'x'.repeat(Math.max(0, pad.length + target - size(pad)));
  return pad;
}

/** The ordering key: 64 users, spread over the partitions. */
export const keyOf = (i: number) => `user-${i % 64}`;

/** A service schema with its own least-privilege role and the platform migrations (outbox, processed_events). */
export async function openServiceSchema(adminUrl: string, schema: string, poolSize = 10): Promise<Database> {
  const url = await provisionServiceRole(adminUrl, schema, randomBytes(12).toString('hex'));
  const db = await Database.open({ kind: 'postgres', schema, url, poolSize, applicationName: `bench-bus-${schema}` });
  await migrate(db, migrationFiles(join(REPO, 'migrations'), '__none__'));
  return db;
}

/** The consumer's effect table: one row per handled event. */
export const EFFECTS_DDL = `CREATE TABLE IF NOT EXISTS effects (event_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, requested_by TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`;

/** Drops the login roles provisionServiceRole created (roles are cluster-wide; the database is dropped separately). */
export async function dropRoles(roles: string[]): Promise<void> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${r}`);
  } finally {
    await c.end();
  }
}

export async function postgresSettings(url: string): Promise<Record<string, string>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, string> = {};
    for (const s of ['server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers'])
      out[s] = String((await c.query(`SHOW ${s}`)).rows[0][s]);
    return out;
  } finally {
    await c.end();
  }
}

/** Deletes every topic that starts with `<prefix>.` (each path uses fresh topics). */
export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-bus-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (mine.length) await admin.deleteTopics({ topics: mine, timeout: 10000 });
  } finally {
    await admin.disconnect();
  }
}

/** A fresh topic prefix (KAFKA_TOPIC_PREFIX) per path and run. */
export const newPrefix = (path: string) => `bench${Date.now().toString(36)}${randomBytes(2).toString('hex')}-${path}`;

let pgQueries = 0;
let pgCounting = false;
/**
 * Counts the SQL statements node-postgres sends from this process (each one is a round trip to the
 * server). Instrumentation only: wraps Client.prototype.query with a counter, once.
 */
export function pgQueryCounter(): () => number {
  if (!pgCounting) {
    pgCounting = true;
    const proto = PgClient.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      pgQueries++;
      return original.apply(this, args);
    };
  }
  const start = pgQueries;
  return () => pgQueries - start;
}
