// The batch APIs on the embedded stack: PGlite for the service's schema and for the local log.
import { join } from 'node:path';
import { Topics } from '@hishamos/contracts';
import { Database, migrate, migrationFiles } from '@hishamos/persistence';
import { LocalLogTransport, Outbox, TransportEventBus, transactionWithHooks } from '@hishamos/messaging';
import { waitFor } from '@hishamos/testing';
import { REPO } from './fixtures/bus-fixture';

jest.setTimeout(60000);

describe('Outbox.addMany, the relay and subscribeBatch on PGlite', () => {
  let db: Database;
  let busDb: Database;
  let bus: TransportEventBus;

  beforeAll(async () => {
    db = await Database.open({ kind: 'pglite', schema: 'svc' });
    await migrate(db, migrationFiles(join(REPO, 'migrations'), '__none__'));
    await db.query(`CREATE TABLE effects (seq BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, k TEXT, n INT)`);
    busDb = await Database.open({ kind: 'pglite', schema: 'bus' });
    bus = new TransportEventBus(new LocalLogTransport(busDb, { partitions: 3, pollIntervalMs: 50 }), 'embedded-test');
    await bus.start([Topics.TaskRequested]);
  });
  afterAll(async () => {
    await bus?.stop();
    await db?.close();
    await busDb?.close();
  });

  it('publishes addMany rows in order after the commit, and a batch handler applies them once, per key in order', async () => {
    const outbox = new Outbox('embedded-test');
    const relay = bus.relay(db, outbox, { batchSize: 50, pollIntervalMs: 60000 });
    const calls: number[] = [];
    await bus.subscribeBatch('embedded-group', Topics.TaskRequested, db, async (events, { tx }) => {
      calls.push(events.length);
      await tx.query(
        `INSERT INTO effects (event_id, k, n) SELECT e, k, n FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS x(e, k, n, o) ORDER BY o`,
        [events.map((e) => e.attributes.id), events.map((e) => e.key), events.map((e) => Number(e.payload.taskId))],
      );
    });
    const keys = ['a', 'b', 'c', 'd'];
    const payloads = Array.from({ length: 120 }, (_, i) => ({ taskId: String(i), requestedBy: keys[i % 4] }));
    // The relay polls once a minute here: only the after-commit wake-up can publish these in time.
    const ids = await transactionWithHooks(db, (tx) =>
      outbox.addMany(tx, Topics.TaskRequested, payloads, (_, i) => ({ key: payloads[i].requestedBy })),
    );
    expect(new Set(ids).size).toBe(120);
    await waitFor(
      async () => Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM effects'))[0].n) === 120,
      { what: '120 effects', timeoutMs: 30000 },
    );
    const effects = await db.query<{ event_id: string; k: string; n: number }>(
      'SELECT event_id, k, n FROM effects ORDER BY seq',
    );
    for (const k of keys) {
      const ns = effects.filter((e) => e.k === k).map((e) => e.n);
      expect(ns).toEqual(Array.from({ length: 30 }, (_, j) => keys.indexOf(k) + 4 * j));
    }
    expect(new Set(effects.map((e) => e.event_id))).toEqual(new Set(ids));
    expect(Math.max(...calls)).toBeGreaterThan(1);
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(0);
    const processed = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM processed_events WHERE consumer = 'embedded-group'`,
    );
    expect(processed[0].n).toBe('120');
    await relay.stop();
  });
});
