// The batch APIs on the embedded stack: PGlite for the service's schema and for the local log.
import { join } from 'node:path';
import { encodePayload, Topics } from '@hishamos/contracts';
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

  it('addManyEncoded writes the rows addMany writes for the same payloads', async () => {
    const outbox = new Outbox('embedded-test');
    const payload = { taskId: 'enc-1', requestedBy: 'é-user' };
    await transactionWithHooks(db, async (tx) => {
      await outbox.addMany(tx, Topics.TaskRequested, [payload], [{ key: 'k-enc', id: 'plain-1', subject: 's' }]);
      await outbox.addManyEncoded(tx, Topics.TaskRequested, [
        { id: 'encoded-1', key: 'k-enc', value: encodePayload(Topics.TaskRequested, payload), subject: 's' },
      ]);
    });
    const rows = await db.query<{ event_id: string; topic: string; key: string; payload: Uint8Array; headers: object }>(
      `SELECT event_id, topic, key, payload, headers FROM outbox WHERE event_id IN ('plain-1', 'encoded-1') ORDER BY id`,
    );
    expect(rows.map((r) => r.event_id)).toEqual(['plain-1', 'encoded-1']);
    const [plain, encoded] = rows;
    expect(encoded.topic).toBe(plain.topic);
    expect(encoded.key).toBe(plain.key);
    expect(Buffer.from(encoded.payload).equals(Buffer.from(plain.payload))).toBe(true);
    const strip = (h: object) => {
      const { ce_id: _id, ce_time: time, ...rest } = h as Record<string, string>;
      expect(Number.isNaN(Date.parse(time))).toBe(false);
      return rest;
    };
    expect(Object.keys(encoded.headers)).toEqual(Object.keys(plain.headers));
    expect(strip(encoded.headers)).toEqual(strip(plain.headers));
    expect((encoded.headers as Record<string, string>).ce_id).toBe('encoded-1');
    await db.query(`DELETE FROM outbox WHERE event_id IN ('plain-1', 'encoded-1')`);
  });

  it("with idempotentHandler, claims no event ids in the batch path and drops a batch's duplicate ids", async () => {
    const seen: string[][] = [];
    await bus.subscribeBatch(
      'embedded-idem',
      Topics.TaskRequested,
      db,
      async (events) => {
        seen.push(events.map((e) => e.attributes.id));
      },
      { idempotentHandler: true },
    );
    // The same event twice (same id), published together: one batch of the partition holds both.
    const payload = { taskId: 'dup', requestedBy: 'a' };
    await Promise.all([
      bus.publish(Topics.TaskRequested, payload, { key: 'a', id: 'dup-id' }),
      bus.publish(Topics.TaskRequested, payload, { key: 'a', id: 'dup-id' }),
    ]);
    await waitFor(() => seen.flat().includes('dup-id'), { what: 'the duplicated event', timeoutMs: 30000 });
    // The 120 events of the first test too (a new group reads the topic from the start).
    await waitFor(() => new Set(seen.flat()).size >= 121, { what: '121 distinct events', timeoutMs: 30000 });
    for (const ids of seen) expect(new Set(ids).size).toBe(ids.length);
    expect(Math.max(...seen.map((ids) => ids.length))).toBeGreaterThan(1);
    const processed = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM processed_events WHERE consumer = 'embedded-idem'`,
    );
    // Only events handled one at a time (a batch of one goes through the claiming path) are recorded.
    const single = seen.filter((ids) => ids.length === 1).length;
    expect(Number(processed[0].n)).toBeLessThanOrEqual(single);
  });
});
