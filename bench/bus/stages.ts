/**
 * bench/bus/stages — each stage of the adapter's full path on its own, to show where the time goes
 * when run.ts's end-to-end figure is low. Every stage uses the real library:
 *
 *   outbox-add      Outbox.add per event inside db.transaction (<batch> per transaction), no relay running
 *   outbox-add-many Outbox.addMany of <batch> events per transaction (one INSERT), no relay running
 *   relay           OutboxRelay draining <events> committed outbox rows to Kafka (the library's default batch)
 *   consume-effect  bus.subscribe over a topic already holding <events> events; handler INSERTs one effect row
 *   consume-noop    the same with a handler that does nothing (the bus's own cost: decode, idempotency, commit)
 *   consume-batch-effect  bus.subscribeBatch over the same pre-filled topic; one effect INSERT (unnest) per batch
 *
 * The consume stages include the consumer group's join (a few hundred ms at most on the local broker).
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/bus/stages.ts [--events 20000]
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { buildMessage, createEventBus, Outbox, OutboxRelay, type TransportEventBus } from '@hishamos/messaging';
import type { Database } from '@hishamos/persistence';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import {
  checkDeadline,
  formatTable,
  machineInfo,
  measureComponentCpu,
  nowMs,
  parseArgs,
  round,
  until,
  withTimeout,
  writeResults,
} from '../lib';
import {
  deleteTopics,
  dropRoles,
  EFFECTS_DDL,
  keyOf,
  newPrefix,
  openServiceSchema,
  payloadPad,
  pgQueryCounter,
  REPO,
  taskPayload,
  TOPIC,
} from './fixture';

const STAGES = [
  'outbox-add',
  'outbox-add-many',
  'relay',
  'consume-effect',
  'consume-noop',
  'consume-batch-effect',
] as const;
type Stage = (typeof STAGES)[number];

const USAGE = `usage: node -r @swc-node/register bench/bus/stages.ts [--events N] [--batch N] [--partitions N] [--payload N] [--stages LIST] [--timeout S] [--out NAME]
  stages: ${STAGES.join(', ')}`;
const opts = parseArgs(
  process.argv.slice(2),
  { events: 20000, batch: 500, partitions: 6, payload: 256, stages: STAGES.join(','), timeout: 180, out: 'bus-stages' },
  USAGE,
);

interface StageResult {
  stage: Stage;
  events: number;
  seconds: number;
  eventsPerSec: number;
  pgStatementsPerEvent: number;
  cpuUsPerEvent: Record<string, number>;
}

interface Ctx {
  brokers: string[];
  producerDb: Database;
  consumerDb: Database;
  pad: string;
  deadline: number;
}

/** Our own polling statements, subtracted from the statement counts. */
let ownStatements = 0;
async function count(db: Database, table: string): Promise<number> {
  ownStatements++;
  return Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0].n);
}

function newBus(ctx: Ctx, prefix: string, source: string): TransportEventBus {
  return createEventBus(
    { transport: 'kafka', brokers: ctx.brokers, clientId: source, partitions: opts.partitions, topicPrefix: prefix },
    source,
  ) as TransportEventBus;
}

async function fillOutbox(ctx: Ctx, outbox: Outbox, many = false): Promise<void> {
  for (let start = 0; start < opts.events; start += opts.batch) {
    checkDeadline(ctx.deadline, 'filling the outbox');
    const end = Math.min(opts.events, start + opts.batch);
    await ctx.producerDb.transaction(async (tx) => {
      if (many) {
        const payloads = [];
        for (let i = start; i < end; i++) payloads.push(taskPayload(i, ctx.pad));
        await outbox.addMany(tx, TOPIC, payloads, (_, j) => ({ key: keyOf(start + j) }));
      } else {
        for (let i = start; i < end; i++) await outbox.add(tx, TOPIC, taskPayload(i, ctx.pad), { key: keyOf(i) });
      }
    });
  }
}

async function topicSize(brokers: string[], topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'bench-stages', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Times `fn` (from its start to its end) with CPU and statement counts. */
async function measure(stage: Stage, fn: () => Promise<void>): Promise<StageResult> {
  const n = opts.events;
  const cpu = measureComponentCpu();
  const queries = pgQueryCounter();
  const own0 = ownStatements;
  const t0 = nowMs();
  await fn();
  const seconds = (nowMs() - t0) / 1000;
  const used = cpu();
  return {
    stage,
    events: n,
    seconds,
    eventsPerSec: n / seconds,
    pgStatementsPerEvent: (queries() - (ownStatements - own0)) / n,
    cpuUsPerEvent: Object.fromEntries(Object.entries(used).map(([k, s]) => [k, (s * 1e6) / n])),
  };
}

async function runStage(stage: Stage, ctx: Ctx): Promise<StageResult> {
  const n = opts.events;
  await ctx.producerDb.query('TRUNCATE outbox');
  await ctx.consumerDb.query('TRUNCATE effects, processed_events');
  const prefix = newPrefix(stage);
  const producer = newBus(ctx, prefix, 'bench-producer');
  const consumer = newBus(ctx, prefix, 'bench-consumer');
  let relay: OutboxRelay | undefined;
  try {
    await producer.start([TOPIC]);
    if (stage === 'outbox-add' || stage === 'outbox-add-many') {
      const r = await measure(stage, () => fillOutbox(ctx, new Outbox('bench-producer'), stage === 'outbox-add-many'));
      const rows = await count(ctx.producerDb, 'outbox');
      if (rows !== n) throw new Error(`${stage}: ${rows} outbox rows, expected ${n}`);
      return r;
    }
    if (stage === 'relay') {
      await fillOutbox(ctx, new Outbox('bench-producer'), true);
      relay = new OutboxRelay(ctx.producerDb, producer.transport, undefined);
      const r = await measure(stage, async () => {
        relay!.start();
        await until(
          async () => (await count(ctx.producerDb, 'outbox')) === 0,
          'relay: outbox drained',
          ctx.deadline,
          2,
        );
      });
      const published = await topicSize(ctx.brokers, `${prefix}.${TOPIC}`);
      if (published !== n) throw new Error(`relay: ${published} messages on the topic, expected ${n}`);
      return r;
    }
    // consume-*: the topic is filled first (not timed), then the consumer joins and drains it.
    for (let start = 0; start < n; start += opts.batch) {
      const messages = [];
      for (let i = start; i < Math.min(n, start + opts.batch); i++)
        messages.push(buildMessage('bench-producer', TOPIC, taskPayload(i, ctx.pad), { key: keyOf(i) }));
      await producer.transport.send(messages);
    }
    await consumer.start([TOPIC]);
    const group = `${prefix}-consumer`;
    const effect = stage === 'consume-effect' || stage === 'consume-batch-effect';
    const r = await measure(stage, async () => {
      if (stage === 'consume-batch-effect')
        await consumer.subscribeBatch(group, TOPIC, ctx.consumerDb, async (events, { tx }) => {
          await tx.query(
            `INSERT INTO effects (event_id, task_id, requested_by) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`,
            [
              events.map((ev) => ev.attributes.id),
              events.map((ev) => ev.payload.taskId),
              events.map((ev) => ev.payload.requestedBy),
            ],
          );
        });
      else
        await consumer.subscribe(group, TOPIC, ctx.consumerDb, async (ev, { tx }) => {
          if (effect)
            await tx.query('INSERT INTO effects (event_id, task_id, requested_by) VALUES ($1, $2, $3)', [
              ev.attributes.id,
              ev.payload.taskId,
              ev.payload.requestedBy,
            ]);
        });
      await until(
        async () => (await count(ctx.consumerDb, 'processed_events')) >= n,
        `${stage}: ${n} processed events`,
        ctx.deadline,
        2,
      );
    });
    const effects = await count(ctx.consumerDb, 'effects');
    if (effects !== (effect ? n : 0)) throw new Error(`${stage}: ${effects} effect rows`);
    return r;
  } finally {
    await relay?.stop().catch(() => undefined);
    await consumer.stop().catch(() => undefined);
    await producer.stop().catch(() => undefined);
    await deleteTopics(ctx.brokers, prefix).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const stages = String(opts.stages)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as Stage[];
  for (const s of stages) if (!STAGES.includes(s)) throw new Error(`unknown stage ${s} (known: ${STAGES.join(', ')})`);
  const machine = machineInfo(REPO);
  const brokers = await requireKafka();
  const pg = await requirePostgresDatabase('bench_stages');
  const tag = randomBytes(3).toString('hex');
  const schemas = [`bench_stage_p_${tag}`, `bench_stage_c_${tag}`];
  let dbs: Database[] = [];
  try {
    dbs = [await openServiceSchema(pg.url, schemas[0]), await openServiceSchema(pg.url, schemas[1])];
    await dbs[1].query(EFFECTS_DDL);
    const results: StageResult[] = [];
    for (const stage of stages) {
      const ctx: Ctx = {
        brokers,
        producerDb: dbs[0],
        consumerDb: dbs[1],
        pad: payloadPad(opts.payload),
        deadline: Date.now() + opts.timeout * 1000,
      };
      const r = await withTimeout(
        runStage(stage, ctx),
        opts.timeout * 1000 + 10000,
        `stage ${stage} (--timeout ${opts.timeout} s)`,
      );
      console.log(`${stage}: ${Math.round(r.eventsPerSec)} events/s`);
      results.push(r);
    }
    console.log('');
    console.log(
      formatTable(
        [
          'stage',
          'events',
          'seconds',
          'events/s',
          'pg stmts/event',
          'node cpu us/event',
          'postgres cpu us/event',
          'kafka cpu us/event',
        ],
        results.map((r) => [
          r.stage,
          r.events,
          round(r.seconds, 2),
          Math.round(r.eventsPerSec),
          round(r.pgStatementsPerEvent, 2),
          Math.round(r.cpuUsPerEvent.node),
          Math.round(r.cpuUsPerEvent.postgres ?? NaN),
          Math.round(r.cpuUsPerEvent.kafka ?? NaN),
        ]),
      ),
    );
    const file = writeResults(REPO, String(opts.out), {
      benchmark: 'bus-stages',
      machine,
      config: {
        events: opts.events,
        batch: opts.batch,
        partitions: opts.partitions,
        payloadBytes: opts.payload,
        stages,
      },
      results: results.map((r) => ({
        ...r,
        seconds: round(r.seconds, 3),
        eventsPerSec: Math.round(r.eventsPerSec),
        pgStatementsPerEvent: round(r.pgStatementsPerEvent, 3),
        cpuUsPerEvent: Object.fromEntries(Object.entries(r.cpuUsPerEvent).map(([k, v]) => [k, round(v, 1)])),
      })),
    });
    console.log(`results: ${file}`);
  } finally {
    for (const db of dbs) await db.close().catch(() => undefined);
    await pg.drop().catch((e) => console.error(`cleanup: dropping the bench database failed: ${(e as Error).message}`));
    await dropRoles(schemas.map((s) => `hishamos_${s}`)).catch((e) =>
      console.error(`cleanup: dropping the bench roles failed: ${(e as Error).message}`),
    );
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`\nbench/bus/stages FAILED: ${(error as Error).message}`);
    process.exit(1);
  },
);
