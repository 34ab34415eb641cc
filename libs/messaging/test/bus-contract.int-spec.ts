import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Topics, decodeEvent, dlqTopic, type Payload } from '@hishamos/contracts';
import type { Database } from '@hishamos/persistence';
import {
  buildMessage,
  NonRetryableError,
  Outbox,
  OutboxRelay,
  TransportEventBus,
  type BusObserver,
  type EventBus,
} from '@hishamos/messaging';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { openBus, openServiceDb, REPO, type FixtureConfig, type Kind } from './fixtures/bus-fixture';
import { PrivatePostgres } from './fixtures/private-infra';

jest.setTimeout(120000);

function spawnChild(cfg: object): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'fixtures', 'consumer-child.ts'), JSON.stringify(cfg)],
    {
      cwd: REPO,
      env: { ...process.env, SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
  });
}

/** Reads a DLQ topic (at least `min` messages) with a plain consumer (Kafka) or the local log table. */
async function readDlq(
  kind: Kind,
  cfg: FixtureConfig,
  busDbUrl: () => Database | undefined,
  topic: string,
  min = 1,
): Promise<{ value: Buffer; headers: Record<string, string> }[]> {
  if (kind === 'local') {
    const rows = await busDbUrl()!.query<{ value: Buffer; headers: Record<string, string> }>(
      `SELECT value, headers FROM bus.bus_messages WHERE topic = $1 ORDER BY offset_id`,
      [`${cfg.prefix}.${topic}`],
    );
    return rows;
  }
  const kafka = new Kafka({ brokers: cfg.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
  const got: { value: Buffer; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: `${cfg.prefix}.${topic}`, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      got.push({ value: message.value!, headers });
    },
  });
  await waitFor(() => got.length >= min, { what: `${min} dlq message(s)`, timeoutMs: 30000 });
  await consumer.disconnect();
  return got;
}

/** Every record a topic holds now: the local log's rows, or Kafka's partitions read up to their end. */
async function readTopic(
  kind: Kind,
  cfg: FixtureConfig,
  adminDb: Database,
  topic: string,
): Promise<{ key: string; value: Buffer; headers: Record<string, string> }[]> {
  const name = `${cfg.prefix}.${topic}`;
  if (kind === 'local') {
    return adminDb.query<{ key: string; value: Buffer; headers: Record<string, string> }>(
      `SELECT key, value, headers FROM bus.bus_messages WHERE topic = $1 ORDER BY offset_id`,
      [name],
    );
  }
  const kafka = new Kafka({ brokers: cfg.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(name);
  await admin.disconnect();
  const todo = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]));
  const got: { key: string; value: Buffer; headers: Record<string, string> }[] = [];
  if (todo.size === 0) return got;
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: name, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      got.push({ key: message.key?.toString() ?? '', value: message.value!, headers });
      if (Number(message.offset) + 1 >= (todo.get(partition) ?? 0)) todo.delete(partition);
    },
  });
  await waitFor(() => todo.size === 0, { what: `the end of ${name}`, timeoutMs: 30000 });
  await consumer.disconnect();
  return got;
}

// A Postgres of this file's own, stopped and started by the outage cases (the shared one is never touched).
const privatePg = new PrivatePostgres();
beforeAll(() => privatePg.start(), 120000);
afterAll(() => privatePg.destroy());

describe.each<Kind>(['kafka', 'local'])('EventBus contract on the %s adapter', (kind) => {
  let pg: { url: string; drop: () => Promise<void> };
  let brokers: string[] = [];
  let cfg: FixtureConfig;
  let db: Database;
  const buses: EventBus[] = [];
  const newBus = async (source: string) => {
    const b = await openBus(cfg, source);
    buses.push(b);
    await b.start([Topics.TaskRequested]);
    return b;
  };
  let adminDb: Database | undefined;

  beforeAll(async () => {
    pg = await requirePostgresDatabase(`bus_${kind}`);
    if (kind === 'kafka') brokers = await requireKafka();
    cfg = { kind, adminUrl: pg.url, brokers, prefix: `t${randomUUID().slice(0, 8)}` };
    db = await openServiceDb(pg.url, 'consumer');
    const { Database } = await import('@hishamos/persistence');
    adminDb = await Database.open({ kind: 'postgres', schema: 'public', url: pg.url, poolSize: 2 });
  });
  afterAll(async () => {
    for (const b of buses) await b.stop().catch(() => undefined);
    await db?.close();
    await adminDb?.close();
    await pg?.drop();
  });
  beforeEach(async () => {
    cfg = { ...cfg, prefix: `t${randomUUID().slice(0, 8)}` };
    await db.query('TRUNCATE effects, processed_events');
  });

  it('keeps per-key order', async () => {
    const bus = await newBus('order');
    const seen = new Map<string, number[]>();
    await bus.subscribe(`order-${randomUUID()}`, Topics.TaskRequested, db, async (ev) => {
      seen.set(ev.key, [...(seen.get(ev.key) ?? []), Number(ev.payload.taskId)]);
    });
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (let n = 0; n < 40; n++)
      for (const k of keys) await bus.publish(Topics.TaskRequested, { taskId: String(n), requestedBy: k }, { key: k });
    await waitFor(() => keys.every((k) => (seen.get(k)?.length ?? 0) >= 40), { what: 'all events', timeoutMs: 60000 });
    for (const k of keys) expect(seen.get(k)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it.each(['each', 'batch'] as const)(
    'redelivers uncommitted messages after the consumer process is killed with SIGKILL, with one effect each (%s handler)',
    async (mode) => {
      const group = `kill-${randomUUID()}`;
      const deliveries = join(mkdtempSync(join(tmpdir(), 'kill-')), 'deliveries.log');
      const producer = await newBus('producer');
      const total = 150;
      for (let n = 0; n < total; n++)
        await producer.publish(Topics.TaskRequested, { taskId: String(n) }, { key: `k${n % 3}` });
      const dir = mkdtempSync(join(tmpdir(), 'hang-'));
      const childCfg = { ...cfg, group, deliveries, delayMs: 5, mode };
      // Each of the first two consumers hangs inside its transaction on its 40th delivery and is killed there,
      // so at least one message is provably in flight (handled, not committed) when the process dies.
      const inFlight: string[] = [];
      let child: ChildProcess | undefined;
      for (const round of [1, 2]) {
        const hangFile = join(dir, `hang-${round}`);
        child = await spawnChild({ ...childCfg, hangAt: 40, hangFile });
        await waitFor(() => existsSync(hangFile) && readFileSync(hangFile, 'utf8').length > 0, {
          what: `consumer ${round} in flight`,
          timeoutMs: 60000,
        });
        inFlight.push(readFileSync(hangFile, 'utf8'));
        child.kill('SIGKILL');
        await new Promise((r) => child!.once('exit', r));
      }
      child = await spawnChild(childCfg);
      await waitFor(
        async () => Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM effects'))[0].n) >= total,
        { what: 'all effects', timeoutMs: 90000 },
      );
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGKILL');
      const effects = await db.query<{ event_id: string; k: string; n: number }>(
        'SELECT event_id, k, n FROM effects ORDER BY seq',
      );
      expect(effects).toHaveLength(total);
      expect(new Set(effects.map((e) => e.event_id)).size).toBe(total);
      for (const k of ['k0', 'k1', 'k2']) {
        const ns = effects.filter((e) => e.k === k).map((e) => e.n);
        expect(ns).toEqual([...ns].sort((a, b) => a - b));
      }
      const delivered = readFileSync(deliveries, 'utf8').trim().split('\n');
      // The messages being handled when each process died were delivered again, and took effect once.
      for (const id of inFlight) {
        expect(delivered.filter((d) => d === id).length).toBeGreaterThanOrEqual(2);
        expect(effects.filter((e) => e.event_id === id)).toHaveLength(1);
      }
    },
  );

  it('moves a message that keeps failing to <topic>.dlq with the original payload and the error, and goes on', async () => {
    const bus = await newBus('dlq');
    const ok: string[] = [];
    let attempts = 0;
    let refused = 0;
    await bus.subscribe(
      `dlq-${randomUUID()}`,
      Topics.TaskRequested,
      db,
      async (ev) => {
        if (ev.payload.taskId === 'poison') {
          attempts++;
          throw new Error('cannot handle poison');
        }
        if (ev.payload.taskId === 'refused') {
          // A socket error of something else the handler calls (an HTTP API) while the database is up: a
          // failing handler like any other.
          refused++;
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
        }
        ok.push(ev.payload.taskId);
      },
      { maxAttempts: 3, backoffMs: 10 },
    );
    await bus.publish(Topics.TaskRequested, { taskId: 'poison', agent: 'coding' }, { key: 'p', id: 'poison-id' });
    await bus.publish(Topics.TaskRequested, { taskId: 'refused' }, { key: 'p', id: 'refused-id' });
    await bus.publish(Topics.TaskRequested, { taskId: 'after' }, { key: 'p' });
    await waitFor(() => ok.includes('after'), { what: 'the message after the poison one', timeoutMs: 30000 });
    expect(attempts).toBe(3);
    expect(refused).toBe(3);
    const dlq = await readDlq(kind, cfg, () => adminDb, 'hishamos.tasks.requested.v1.dlq', 2);
    const poison = dlq.find((m) => m.headers.ce_id === 'poison-id')!;
    expect(poison.headers['x-error']).toBe('cannot handle poison');
    expect(poison.headers['x-attempts']).toBe('3');
    expect(dlq.find((m) => m.headers.ce_id === 'refused-id')!.headers).toMatchObject({
      'x-attempts': '3',
      'x-error-code': 'ECONNREFUSED',
    });
    expect(poison.headers['x-original-topic']).toBe('hishamos.tasks.requested.v1');
    const original = decodeEvent(Topics.TaskRequested, 'p', new Uint8Array(poison.value), poison.headers);
    expect(original.payload).toMatchObject({ taskId: 'poison', agent: 'coding' });
  });

  it('sends an undecodable message to the DLQ at once, without blocking the partition', async () => {
    const bus = (await newBus('bad')) as TransportEventBus;
    const ok: string[] = [];
    await bus.subscribe(`bad-${randomUUID()}`, Topics.TaskRequested, db, async (ev) => {
      ok.push(ev.payload.taskId);
    });
    await bus.transport.send([
      {
        topic: Topics.TaskRequested,
        key: 'x',
        value: Buffer.from('{"agent": 5'),
        headers: {
          ce_id: 'bad-1',
          ce_source: 'ext',
          ce_type: 'hishamos.events.v1.TaskRequested',
          ce_specversion: '1.0',
          'content-type': 'application/json',
        },
      },
    ]);
    await bus.publish(Topics.TaskRequested, { taskId: 'good' }, { key: 'x' });
    await waitFor(() => ok.includes('good'), { what: 'the good message', timeoutMs: 30000 });
    const dlq = await readDlq(kind, cfg, () => adminDb, 'hishamos.tasks.requested.v1.dlq');
    const bad = dlq.find((m) => m.headers.ce_id === 'bad-1')!;
    expect(bad.headers['x-error']).toMatch(/not a valid hishamos.events.v1.TaskRequested/);
    expect(bad.headers['x-attempts']).toBe('1');
    expect(bad.value.toString()).toBe('{"agent": 5');
  });

  it('turns duplicate deliveries into one effect', async () => {
    const bus = await newBus('dup');
    const group = `dup-${randomUUID()}`;
    await bus.subscribe(group, Topics.TaskRequested, db, async (ev, { tx }) => {
      await tx.query('INSERT INTO effects (event_id, k, n) VALUES ($1, $2, $3)', [ev.attributes.id, ev.key, 1]);
    });
    for (let i = 0; i < 3; i++)
      await bus.publish(Topics.TaskRequested, { taskId: 'same' }, { key: 'd', id: 'dup-event' });
    await bus.publish(Topics.TaskRequested, { taskId: 'marker' }, { key: 'd', id: 'dup-marker' });
    await waitFor(async () => (await db.query(`SELECT 1 FROM effects WHERE event_id = 'dup-marker'`)).length === 1, {
      what: 'marker',
      timeoutMs: 30000,
    });
    expect(await db.query(`SELECT event_id FROM effects WHERE event_id = 'dup-event'`)).toHaveLength(1);
  });

  it('loses nothing when the relay crashes between the commit and the publish', async () => {
    const bus = (await newBus('outbox')) as TransportEventBus;
    const outbox = new Outbox('outbox-test');
    const got: string[] = [];
    await bus.subscribe(`outbox-${randomUUID()}`, Topics.TaskRequested, db, async (ev) => {
      got.push(ev.payload.taskId);
    });
    // State change and event commit together.
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO effects (event_id, k, n) VALUES ('state-1', 'o', 1)`);
      await outbox.add(tx, Topics.TaskRequested, { taskId: 'from-outbox' }, { key: 'o' });
    });
    // A relay whose broker fails mid-publish: the row must stay.
    const failing = new OutboxRelay(
      db,
      {
        ...bus.transport,
        id: bus.transport.id,
        send: async () => {
          throw new Error('broker gone');
        },
      } as never,
      undefined,
    );
    await expect(failing.relayOnce()).rejects.toThrow('broker gone');
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(1);
    // A relay that published but crashed before its commit: republished later, consumed once.
    const crashing = new OutboxRelay(
      db,
      {
        ...bus.transport,
        id: bus.transport.id,
        send: async (m: never[]) => {
          await bus.transport.send(m);
          throw new Error('crash after publish');
        },
      } as never,
      undefined,
    );
    await expect(crashing.relayOnce()).rejects.toThrow('crash after publish');
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(1);
    const relay = new OutboxRelay(db, bus.transport, undefined);
    expect(await relay.relayOnce()).toBe(1);
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(0);
    await waitFor(() => got.length >= 1, { what: 'outbox event', timeoutMs: 30000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(got).toEqual(['from-outbox']);
  });
  it('waits out an outage of the consumer database: nothing dead-lettered, each event applied once after it returns (each and batch handlers)', async () => {
    // The consumer's schema on the private Postgres, which is stopped and started below.
    const outageDb = await openServiceDb(privatePg.adminUrl, `outage_${kind}`, 3);
    const retries = { n: 0 };
    const dead: string[] = [];
    const observer: BusObserver = {
      processed: (_t, _g, _ms, outcome) => void (outcome === 'retry' && retries.n++),
      deadLettered: (topic, group, reason) => void dead.push(`${topic} ${group}: ${reason}`),
    };
    const bus = await openBus(cfg, 'outage', observer);
    buses.push(bus);
    await bus.start([Topics.TaskRequested]);
    // Two attempts with 10 ms backoff: were the outage counted as handler failures, the events would be
    // dead-lettered within milliseconds.
    const opts = { maxAttempts: 2, backoffMs: 10 };
    try {
      await bus.subscribe(
        `outage-each-${randomUUID()}`,
        Topics.TaskRequested,
        outageDb,
        (ev, { tx }) =>
          tx
            .query(`INSERT INTO effects (event_id, k, n) VALUES ($1, $2, 1)`, [`each:${ev.attributes.id}`, ev.key])
            .then(() => undefined),
        opts,
      );
      await bus.subscribeBatch(
        `outage-batch-${randomUUID()}`,
        Topics.TaskRequested,
        outageDb,
        async (events, { tx }) => {
          await tx.query(
            `INSERT INTO effects (event_id, k, n) SELECT 'batch:' || e, k, 1 FROM unnest($1::text[], $2::text[]) AS x(e, k)`,
            [events.map((ev) => ev.attributes.id), events.map((ev) => ev.key)],
          );
        },
        opts,
      );
      const count = async (prefix: string) =>
        Number(
          (
            await outageDb.query<{ n: string }>(`SELECT count(*)::text AS n FROM effects WHERE event_id LIKE $1`, [
              `${prefix}%`,
            ])
          )[0].n,
        );
      await bus.publish(Topics.TaskRequested, { taskId: 'before' }, { key: 'o1', id: 'o-before' });
      await waitFor(async () => (await count('each:o-before')) + (await count('batch:o-before')) === 2, {
        what: 'the event before the outage',
        timeoutMs: 30000,
      });

      await privatePg.pause();
      const ids = ['o-1', 'o-2', 'o-3', 'o-4', 'o-5', 'o-6'];
      for (const [i, id] of ids.entries())
        await bus.publish(Topics.TaskRequested, { taskId: id }, { key: `o${i % 2}`, id });
      // Both consumers keep trying while the database is away.
      await waitFor(() => retries.n >= 10, { what: 'retries during the outage', timeoutMs: 60000 });
      await privatePg.resume();

      await waitFor(async () => (await count('each:o-')) === 7 && (await count('batch:o-')) === 7, {
        what: 'every event applied after the database returned',
        timeoutMs: 90000,
      });
      await new Promise((r) => setTimeout(r, 500));
      const effects = await outageDb.query<{ event_id: string }>(`SELECT event_id FROM effects ORDER BY event_id`);
      expect(effects.map((e) => e.event_id)).toEqual(
        ['batch', 'each'].flatMap((mode) =>
          ['o-1', 'o-2', 'o-3', 'o-4', 'o-5', 'o-6', 'o-before'].map((id) => `${mode}:${id}`),
        ),
      );
      expect(dead).toEqual([]);
      const dlq = await readTopic(kind, cfg, adminDb!, dlqTopic(Topics.TaskRequested));
      expect(dlq.map((m) => m.headers.ce_id).filter((id) => id?.startsWith('o-'))).toEqual([]);
      expect(bus.consumers().every((c) => c.running)).toBe(true);
    } finally {
      await bus.stop();
      await outageDb.close();
    }
  });

  it('announces each dead letter as a DeadLettered event, and never one for a record of that topic', async () => {
    const bus = (await newBus('announcer')) as TransportEventBus;
    // A service's consumer group: the announcement names the service.
    const group = `${cfg.prefix}.hishamos.alerting.${Topics.TaskRequested}`;
    const long = 'x'.repeat(1500);
    await bus.subscribe(group, Topics.TaskRequested, db, async (ev) => {
      if (ev.payload.taskId === 'poison')
        throw new NonRetryableError(`cannot reach postgres://svc:hunter2secret@db:5432/x ${long}`);
    });
    const announced: { key: string; payload: Payload<typeof Topics.DeadLettered> }[] = [];
    await bus.subscribe(`watcher-${randomUUID()}`, Topics.DeadLettered, db, async (ev) => {
      announced.push({ key: ev.key, payload: ev.payload });
    });
    // A consumer that dead-letters every DeadLettered record it gets: no announcement of those.
    const breakerGroup = `${cfg.prefix}.hishamos.feedback-ml.${Topics.DeadLettered}`;
    await bus.subscribe(breakerGroup, Topics.DeadLettered, db, async () => {
      throw new NonRetryableError('refusing every announcement');
    });
    const before = Date.now();
    await bus.publish(Topics.TaskRequested, { taskId: 'poison' }, { key: 'pk', id: 'announce-poison' });
    const got = await waitFor(() => announced.find((a) => a.payload.eventId === 'announce-poison'), {
      what: 'the DeadLettered event',
      timeoutMs: 30000,
    });
    expect(got.key).toBe(Topics.TaskRequested);
    expect(got.payload).toMatchObject({
      topic: Topics.TaskRequested,
      dlqTopic: `${Topics.TaskRequested}.dlq`,
      service: 'alerting',
      consumerGroup: group,
      attempts: 1,
      recordKey: 'pk',
      eventId: 'announce-poison',
      eventType: 'hishamos.events.v1.TaskRequested',
    });
    expect(got.payload.error.startsWith('cannot reach postgres://svc:[REDACTED]@db:5432/x xxx')).toBe(true);
    expect(got.payload.error).not.toContain('hunter2secret');
    expect(got.payload.error.length).toBe(1000);
    const at = Number(got.payload.at!.seconds) * 1000;
    expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
    // The DLQ record carries the same (redacted) reason.
    const dlq = await readTopic(kind, cfg, adminDb!, dlqTopic(Topics.TaskRequested));
    expect(dlq.find((m) => m.headers.ce_id === 'announce-poison')!.headers['x-error']).toBe(got.payload.error);
    // The breaker dead-letters the announcement: the DLQ of DeadLettered gets it, DeadLettered gets nothing more
    // (the DLQ record and its announcement would be written by one send).
    await waitFor(
      async () =>
        (await readTopic(kind, cfg, adminDb!, dlqTopic(Topics.DeadLettered))).some(
          (m) => m.headers['x-consumer-group'] === breakerGroup,
        ),
      { what: 'the dead-lettered announcement', timeoutMs: 30000, intervalMs: 500 },
    );
    const all = await readTopic(kind, cfg, adminDb!, Topics.DeadLettered);
    const decoded = all.map((m) => decodeEvent(Topics.DeadLettered, m.key, new Uint8Array(m.value), m.headers).payload);
    expect(decoded.map((p) => `${p.topic} ${p.eventId}`)).toEqual([`${Topics.TaskRequested} announce-poison`]);
  });
  // ---- the batch APIs: Outbox.addMany and bus.subscribeBatch ----

  /** Effects of the batch handlers below: one row per event, in the events' order, in one statement. */
  const insertEffects = (
    tx: { query(sql: string, params?: unknown[]): Promise<unknown> },
    rows: [string, string, number][],
  ) =>
    tx.query(
      `INSERT INTO effects (event_id, k, n) SELECT e, k, n FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS x(e, k, n, o) ORDER BY o`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );

  it('addMany writes events in array order, and subscribeBatch hands them over in batches, in per-key order', async () => {
    const bus = await newBus('border');
    const outbox = new Outbox('batch-order');
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const payloads: { taskId: string; requestedBy: string }[] = [];
    for (let n = 0; n < 40; n++) for (const k of keys) payloads.push({ taskId: String(n), requestedBy: k });
    // A rolled-back addMany leaves nothing behind.
    await expect(
      db.transaction(async (tx) => {
        await outbox.addMany(tx, Topics.TaskRequested, payloads, (_, i) => ({ key: payloads[i].requestedBy }));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(0);
    const ids = await db.transaction((tx) =>
      outbox.addMany(tx, Topics.TaskRequested, payloads, (_, i) => ({ key: payloads[i].requestedBy })),
    );
    expect(new Set(ids).size).toBe(payloads.length);
    const rows = await db.query<{ event_id: string; key: string }>('SELECT event_id, key FROM outbox ORDER BY id');
    expect(rows.map((r) => r.event_id)).toEqual(ids);
    expect(rows.map((r) => r.key)).toEqual(payloads.map((p) => p.requestedBy));

    const relay = bus.relay(db, outbox);
    const seen = new Map<string, number[]>();
    const sizes: number[] = [];
    try {
      // Three partitions at a time (Kafka): each partition, and so each key, stays in order.
      await bus.subscribeBatch(
        `border-${randomUUID()}`,
        Topics.TaskRequested,
        db,
        async (events, { tx }) => {
          sizes.push(events.length);
          await insertEffects(
            tx,
            events.map((ev) => [ev.attributes.id, ev.key, Number(ev.payload.taskId)]),
          );
          for (const ev of events) seen.set(ev.key, [...(seen.get(ev.key) ?? []), Number(ev.payload.taskId)]);
        },
        { concurrency: 3 },
      );
      await waitFor(() => keys.every((k) => (seen.get(k)?.length ?? 0) >= 40), {
        what: 'all events',
        timeoutMs: 60000,
      });
    } finally {
      await relay.stop();
    }
    for (const k of keys) expect(seen.get(k)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    const effects = await db.query<{ event_id: string; k: string; n: number }>(
      'SELECT event_id, k, n FROM effects ORDER BY seq',
    );
    expect(effects).toHaveLength(payloads.length);
    for (const k of keys)
      expect(effects.filter((e) => e.k === k).map((e) => e.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(0);
  });

  it('subscribeBatch hands each event to the handler once, with duplicates in one batch and across batches', async () => {
    const bus = (await newBus('bdup')) as TransportEventBus;
    const mk = (id: string, n: number) =>
      buildMessage('dup-source', Topics.TaskRequested, { taskId: String(n) }, { key: 'd', id });
    // Three copies of one event inside one batch.
    await bus.transport.send([mk('d1', 1), mk('dup', 2), mk('d3', 3), mk('dup', 2), mk('dup', 2), mk('d4', 4)]);
    const handled: string[] = [];
    await bus.subscribeBatch(`bdup-${randomUUID()}`, Topics.TaskRequested, db, async (events, { tx }) => {
      handled.push(...events.map((ev) => ev.attributes.id));
      await insertEffects(
        tx,
        events.map((ev) => [ev.attributes.id, ev.key, Number(ev.payload.taskId)]),
      );
    });
    const effect = async (id: string) => (await db.query('SELECT 1 FROM effects WHERE event_id = $1', [id])).length;
    await waitFor(async () => (await effect('d4')) === 1, { what: 'the first batch', timeoutMs: 30000 });
    // Redelivered after the first batch committed.
    await bus.transport.send([mk('dup', 2), mk('d1', 1), mk('marker', 5)]);
    await waitFor(async () => (await effect('marker')) === 1, { what: 'the marker', timeoutMs: 30000 });
    expect(handled.sort()).toEqual(['d1', 'd3', 'd4', 'dup', 'marker']);
    const effects = await db.query<{ event_id: string }>('SELECT event_id FROM effects ORDER BY seq');
    expect(effects.map((e) => e.event_id)).toEqual(['d1', 'dup', 'd3', 'd4', 'marker']);
  });

  it('subscribeBatch falls back to one event at a time when a batch fails: retries, DLQ, order, and the rest goes on in batches', async () => {
    const bus = (await newBus('bfail')) as TransportEventBus;
    const taskIds = ['0', '1', 'bad', '3', '4', '5', 'poison', '7', '8', '9'];
    await bus.transport.send(
      taskIds.map((taskId, i) =>
        buildMessage('fail-source', Topics.TaskRequested, { taskId, agent: 'coding' }, { key: 'f', id: `f${i}` }),
      ),
    );
    const calls: string[][] = [];
    await bus.subscribeBatch(
      `bfail-${randomUUID()}`,
      Topics.TaskRequested,
      db,
      async (events, { tx }) => {
        const ids = events.map((ev) => ev.payload.taskId);
        calls.push(ids);
        if (ids.includes('bad')) throw new NonRetryableError('bad input');
        if (ids.includes('poison')) throw new Error('cannot handle poison');
        await insertEffects(
          tx,
          events.map((ev) => [ev.attributes.id, ev.key, Number(ev.payload.taskId)]),
        );
      },
      { maxAttempts: 3, backoffMs: 10 },
    );
    const count = async () => Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM effects'))[0].n);
    await waitFor(async () => (await count()) >= 8, { what: 'the eight good events', timeoutMs: 30000 });
    const effects = await db.query<{ n: number }>('SELECT n FROM effects ORDER BY seq');
    expect(effects.map((e) => e.n)).toEqual([0, 1, 3, 4, 5, 7, 8, 9]);
    // The non-retryable event is tried once on its own, the poison one three times, then both go to the DLQ.
    expect(calls.filter((c) => c.length === 1 && c[0] === 'bad')).toHaveLength(1);
    expect(calls.filter((c) => c.length === 1 && c[0] === 'poison')).toHaveLength(3);
    // After each dead letter, the rest of the batch goes back to the batch path.
    expect(calls).toContainEqual(['3', '4', '5', 'poison', '7', '8', '9']);
    expect(calls).toContainEqual(['7', '8', '9']);
    const dlq = await readDlq(kind, cfg, () => adminDb, 'hishamos.tasks.requested.v1.dlq', 2);
    const bad = dlq.find((m) => m.headers.ce_id === 'f2')!;
    expect(bad.headers['x-error']).toBe('bad input');
    expect(bad.headers['x-attempts']).toBe('1');
    const poison = dlq.find((m) => m.headers.ce_id === 'f6')!;
    expect(poison.headers['x-error']).toBe('cannot handle poison');
    expect(poison.headers['x-attempts']).toBe('3');
    expect(decodeEvent(Topics.TaskRequested, 'f', new Uint8Array(poison.value), poison.headers).payload).toMatchObject({
      taskId: 'poison',
      agent: 'coding',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await count()).toBe(8);
  });
});

it('the child fixture exists', () => {
  expect(existsSync(join(__dirname, 'fixtures', 'consumer-child.ts'))).toBe(true);
});
