import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, migrate, migrationFiles, provisionServiceRole } from '@hishamos/persistence';
import { requirePostgresDatabase } from '@hishamos/testing';

function migrationsDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'mig-'));
  mkdirSync(join(root, '_platform'));
  mkdirSync(join(root, 'svc'));
  writeFileSync(
    join(root, '_platform', '0001_base.sql'),
    'CREATE TABLE IF NOT EXISTS outbox (id BIGSERIAL PRIMARY KEY, note TEXT);',
  );
  writeFileSync(
    join(root, 'svc', '0001_items.sql'),
    'CREATE TABLE items (id INT PRIMARY KEY, amount NUMERIC(12,6) NOT NULL);',
  );
  return root;
}

async function behaves(db: Database): Promise<void> {
  const root = migrationsDir();
  expect(await migrate(db, migrationFiles(root, 'svc'))).toEqual(['_platform/0001_base.sql', 'svc/0001_items.sql']);
  expect(await migrate(db, migrationFiles(root, 'svc'))).toEqual([]);
  rmSync(root, { recursive: true });
  // numeric stays an exact string
  await db.query('INSERT INTO items VALUES (1, 0.1), (2, 0.2)');
  expect((await db.query<{ s: string }>('SELECT sum(amount)::text AS s FROM items'))[0].s).toBe('0.300000');
  // a failed transaction leaves nothing behind
  await expect(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES (3, 1)');
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(await db.query('SELECT id FROM items WHERE id = 3')).toEqual([]);
  // update counts
  expect((await db.run('UPDATE items SET amount = amount + 1')).rowCount).toBe(2);
  // concurrent transactions do not interleave
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      db.transaction(async (tx) => {
        const [{ n }] = await tx.query<{ n: string }>('SELECT count(*)::text AS n FROM items');
        await new Promise((r) => setTimeout(r, 1));
        await tx.query('INSERT INTO items VALUES ($1, $2)', [100 + i, Number(n)]);
      }),
    ),
  );
  const counts = (await db.query<{ amount: string }>('SELECT amount FROM items WHERE id >= 100 ORDER BY amount')).map(
    (r) => Number(r.amount),
  );
  if (db.kind === 'pglite') expect(counts).toEqual(Array.from({ length: 20 }, (_, i) => 2 + i));
  else expect(counts).toHaveLength(20);
}

describe('Database on PGlite', () => {
  it('migrates, keeps numeric exact, rolls back, serialises transactions', async () => {
    const db = await Database.open({ kind: 'pglite', schema: 'svc' });
    try {
      await behaves(db);
    } finally {
      await db.close();
    }
  });

  it('loads pgvector', async () => {
    const db = await Database.open({ kind: 'pglite', schema: 'kb', vector: true });
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS vector');
      await db.query('CREATE TABLE v (id int, e vector(3))');
      await db.query(`INSERT INTO v VALUES (1, '[1,0,0]'), (2, '[0,1,0]')`);
      const rows = await db.query<{ id: number }>(`SELECT id FROM v ORDER BY e <=> '[0.9,0.1,0]' LIMIT 1`);
      expect(rows[0].id).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('sends vector parameters in binary once asked to, and text ones as before', async () => {
    const db = await Database.open({ kind: 'pglite', schema: 'kb', vector: true });
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS vector');
      await expect(db.sendBinaryParameters('no_such_type')).rejects.toThrow('no type named no_such_type');
      await db.sendBinaryParameters('vector');
      // pgvector's binary form: int16 dimensions, int16 0, then big-endian float4s.
      const binary = (v: number[]): Buffer => {
        const b = Buffer.alloc(4 + 4 * v.length);
        b.writeInt16BE(v.length, 0);
        v.forEach((x, i) => b.writeFloatBE(x, 4 + 4 * i));
        return b;
      };
      const [bin] = await db.query<{ t: string }>('SELECT $1::vector::text AS t', [binary([0.5, -2, 3.25])]);
      expect(bin.t).toBe('[0.5,-2,3.25]');
      const [text] = await db.query<{ t: string }>('SELECT $1::vector::text AS t', ['[1,2,3]']);
      expect(text.t).toBe('[1,2,3]');
      await expect(db.query('SELECT $1::vector', [Buffer.from([0, 3, 0, 0, 1])])).rejects.toThrow();
    } finally {
      await db.close();
    }
  });
});

describe('Database on Postgres', () => {
  let pg: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    pg = await requirePostgresDatabase('persistence');
  });
  afterAll(async () => pg?.drop());

  it('migrates and behaves the same as PGlite, as a least-privilege role', async () => {
    const url = await provisionServiceRole(pg.url, 'svc', 'pw-svc');
    const db = await Database.open({ kind: 'postgres', schema: 'svc', url });
    try {
      await behaves(db);
    } finally {
      await db.close();
    }
  });

  it('provisions the same service role in two databases of one cluster at once', async () => {
    const other = await requirePostgresDatabase('persistence');
    try {
      // The role is cluster-wide, the advisory lock per database: the two race on the role's catalog row.
      for (let round = 0; round < 8; round++) {
        const urls = await Promise.all([
          provisionServiceRole(pg.url, 'twin', 'pw-twin'),
          provisionServiceRole(other.url, 'twin', 'pw-twin'),
        ]);
        for (const url of urls) {
          const db = await Database.open({ kind: 'postgres', schema: 'twin', url });
          await db.close();
        }
      }
    } finally {
      await other.drop();
    }
  });

  it("a service's role cannot read another service's schema", async () => {
    const urlA = await provisionServiceRole(pg.url, 'alpha', 'pw-a');
    const urlB = await provisionServiceRole(pg.url, 'beta', 'pw-b');
    const a = await Database.open({ kind: 'postgres', schema: 'alpha', url: urlA });
    const b = await Database.open({ kind: 'postgres', schema: 'beta', url: urlB });
    try {
      await a.query('CREATE TABLE secret_stuff (x int)');
      await expect(b.query('SELECT * FROM alpha.secret_stuff')).rejects.toThrow(/permission denied/);
      await expect(b.query('CREATE TABLE public.sneaky (x int)')).rejects.toThrow(/permission denied/);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
