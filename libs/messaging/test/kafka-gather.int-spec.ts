// subscribeBatch's gatherMs/gatherBytes on Kafka: a fetch waits for a fuller batch, so events that trickle
// in are handled in fewer, larger batches than by a subscription that takes what is there at once.
import { randomUUID } from 'node:crypto';
import { Topics } from '@hishamos/contracts';
import type { Database } from '@hishamos/persistence';
import { createEventBus, type EventBus } from '@hishamos/messaging';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { openServiceDb } from './fixtures/bus-fixture';

jest.setTimeout(120000);

describe('gathering batches on Kafka', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let db: Database;
  let bus: EventBus;
  const prefix = `t${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    pg = await requirePostgresDatabase('bus_gather');
    db = await openServiceDb(pg.url, 'consumer');
    bus = createEventBus(
      {
        transport: 'kafka',
        brokers: await requireKafka(),
        clientId: 'gather-test',
        partitions: 1,
        topicPrefix: prefix,
      },
      'gather-test',
    );
    await bus.start([Topics.TaskRequested]);
  });
  afterAll(async () => {
    await bus?.stop().catch(() => undefined);
    await db?.close();
    await pg?.drop();
  });

  it('hands trickling events over in fewer batches when asked to gather', async () => {
    const batches = { gathered: [] as number[], immediate: [] as number[] };
    const seen = { gathered: 0, immediate: 0 };
    for (const kind of ['gathered', 'immediate'] as const)
      await bus.subscribeBatch(
        `${prefix}.${kind}`,
        Topics.TaskRequested,
        db,
        async (events) => {
          batches[kind].push(events.length);
          seen[kind] += events.length;
        },
        kind === 'gathered' ? { gatherMs: 1500, gatherBytes: 1024 * 1024 } : {},
      );
    // Both consumers are fetching before the events come.
    await bus.publish(Topics.TaskRequested, { taskId: 'warm' }, { key: 'k' });
    await waitFor(() => seen.gathered === 1 && seen.immediate === 1, { what: 'the first event', timeoutMs: 60000 });
    batches.gathered.length = 0;
    batches.immediate.length = 0;
    // 20 events, one every 25 ms: half a second, within one or two 1.5 s gathering windows.
    for (let i = 0; i < 20; i++) {
      await bus.publish(Topics.TaskRequested, { taskId: `t${i}` }, { key: 'k' });
      await new Promise((r) => setTimeout(r, 25));
    }
    await waitFor(() => seen.gathered === 21 && seen.immediate === 21, { what: 'all 20 events', timeoutMs: 60000 });
    expect(batches.gathered.length).toBeLessThanOrEqual(3);
    expect(batches.immediate.length).toBeGreaterThan(batches.gathered.length);
  });
});
