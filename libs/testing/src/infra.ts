import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { Client } from 'pg';

/** Test infrastructure started by `make test` (scripts/infra). Tests fail loudly when it is absent. */
export const PG_ADMIN_URL = process.env.HISHAMOS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
export const KAFKA_BROKERS = (process.env.HISHAMOS_TEST_KAFKA ?? '127.0.0.1:19092').split(',');

function reachable(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

export async function requireKafka(): Promise<string[]> {
  const [host, port] = KAFKA_BROKERS[0].split(':');
  if (!(await reachable(host, Number(port)))) {
    throw new Error(
      `Kafka is required and not reachable at ${KAFKA_BROKERS[0]}: run 'make infra-up' (make test starts it: scripts/infra/kafka.sh start)`,
    );
  }
  return KAFKA_BROKERS;
}

/** Creates a fresh database for the calling test file and returns its admin URL. */
export async function requirePostgresDatabase(prefix = 'test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new URL(PG_ADMIN_URL);
  if (!(await reachable(admin.hostname, Number(admin.port || 5432)))) {
    throw new Error(
      `Postgres is required and not reachable at ${admin.host}: run 'make infra-up' (make test starts it: scripts/infra/postgres.sh start)`,
    );
  }
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const d = new Client({ connectionString: PG_ADMIN_URL });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
