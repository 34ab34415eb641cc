// A Kafka broker restart under a running bus: consumers that kafkajs gives up on come back, the producer
// and the outbox relay survive, and the bus reports itself unhealthy meanwhile. The broker is this file's
// own (the shared one on 19092 is never stopped).
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Topics } from '@hishamos/contracts';
import type { Database } from '@hishamos/persistence';
import { createEventBus, Outbox, type EventBus } from '@hishamos/messaging';
import { requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { openServiceDb } from './fixtures/bus-fixture';
import { PrivateKafka } from './fixtures/private-infra';

jest.setTimeout(600000);

describe('the Kafka bus across a broker restart', () => {
  const kafka = new PrivateKafka();
  let pg: { url: string; drop: () => Promise<void> };
  let db: Database;
  let bus: EventBus;
  const prefix = `t${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    pg = await requirePostgresDatabase('bus_restart');
    db = await openServiceDb(pg.url, 'consumer');
    await kafka.start();
    bus = createEventBus(
      {
        transport: 'kafka',
        brokers: kafka.brokers,
        clientId: 'restart-test',
        partitions: 3,
        topicPrefix: prefix,
        sessionTimeoutMs: 6000,
      },
      'restart-test',
    );
    await bus.start([Topics.TaskRequested]);
  });
  afterAll(async () => {
    await bus?.stop().catch(() => undefined);
    await db?.close();
    await pg?.drop();
    await kafka.destroy();
  });

  it('brings every consumer back after a 30 s outage, publishes what was written meanwhile, and tells the truth about its health', async () => {
    const seen = { each: new Set<string>(), batch: new Set<string>() };
    await bus.subscribe(
      `${prefix}.hishamos.orchestrator.${Topics.TaskRequested}`,
      Topics.TaskRequested,
      db,
      async (ev) => {
        seen.each.add(ev.payload.taskId);
      },
    );
    await bus.subscribeBatch(
      `${prefix}.hishamos.usage-metering.${Topics.TaskRequested}`,
      Topics.TaskRequested,
      db,
      async (events) => {
        for (const ev of events) seen.batch.add(ev.payload.taskId);
      },
    );
    const outbox = new Outbox('restart-test');
    bus.relay(db, outbox, { pollIntervalMs: 200 });
    const both = (id: string) => seen.each.has(id) && seen.batch.has(id);

    await bus.publish(Topics.TaskRequested, { taskId: 'before' }, { key: 'k1' });
    await waitFor(() => both('before'), { what: 'the event before the outage', timeoutMs: 60000 });
    expect(await bus.healthy()).toBe(true);

    await kafka.pause();
    const stoppedAt = Date.now();
    // Written during the outage: the relay cannot publish it; the row must stay until it can.
    await db.transaction((tx) => outbox.add(tx, Topics.TaskRequested, { taskId: 'during' }, { key: 'k2' }));
    const healthDuring: boolean[] = [];
    // At least 30 s, and until kafkajs has given up on every consumer (it restarts none of them itself).
    await waitFor(
      async () => {
        healthDuring.push(await bus.healthy());
        return Date.now() - stoppedAt >= 30000 && bus.consumers().every((c) => !c.running);
      },
      { what: 'every consumer to be down', timeoutMs: 240000, intervalMs: 1000 },
    );
    expect(healthDuring).not.toContain(true);
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(1);

    await kafka.resume();
    await waitFor(() => bus.healthy(), { what: 'the bus to be healthy again', timeoutMs: 180000, intervalMs: 1000 });
    expect(bus.consumers().map((c) => c.running)).toEqual([true, true]);
    await waitFor(
      async () => {
        await bus.publish(Topics.TaskRequested, { taskId: 'after' }, { key: 'k3' });
        return true;
      },
      { what: 'a publish after the restart', timeoutMs: 60000, intervalMs: 1000 },
    );
    await waitFor(() => both('during') && both('after'), {
      what: 'the events written during and published after the outage',
      timeoutMs: 120000,
    });
    expect(await db.query('SELECT 1 FROM outbox')).toHaveLength(0);
    expect(await bus.healthy()).toBe(true);

    // The broker's view: both groups have their member back.
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const groups = await admin.describeGroups(bus.consumers().map((c) => c.group));
    await admin.disconnect();
    expect(groups.groups.map((g) => [g.groupId, g.members.length])).toEqual(bus.consumers().map((c) => [c.group, 1]));
  });
});
