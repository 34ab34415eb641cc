/**
 * bench/bus — end-to-end events/second through the HishamOS Kafka adapter vs raw kafkajs, on the same
 * broker, with the same message count, payload and batch size, in one run.
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/bus/run.ts [--events 20000] [--repeat 1]
 *
 * Paths (see README.md):
 *   raw     plain kafkajs: idempotent producer (acks=-1) sendBatch of <batch>; consumer group, eachBatch,
 *           offsets committed after each batch.
 *   direct  the adapter without the outbox: transport.send(<batch> messages from buildMessage) into
 *           bus.subscribe (idempotency table + one effect INSERT per event, in the consumer's transaction).
 *   outbox  the full path: Outbox.add inside db.transaction (<batch> per transaction) in the producer's
 *           schema, bus.relay publishes, bus.subscribe consumes into a second schema as above.
 *   direct-batch  as direct, consumed with bus.subscribeBatch: one effect INSERT (unnest) per batch.
 *   outbox-batch  the full path with the batch APIs: Outbox.addMany (one INSERT per transaction of
 *           <batch> events), bus.relay, bus.subscribeBatch (one effect INSERT per batch). The issue's
 *           target (>= 50% of raw kafkajs) is checked on this path.
 *
 * Throughput = events / (first produce -> last event consumed and committed). Latency per event = the
 * time its consumer saw it (raw: after its batch's offset commit; adapter: in the handler, inside the
 * transaction) minus the time it was produced (a header stamped at send / Outbox.add).
 */
import { randomBytes } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { encodeEvent, type Envelope } from '@hishamos/contracts';
import {
  buildMessage,
  createEventBus,
  Outbox,
  transactionWithHooks,
  type TransportEventBus,
} from '@hishamos/messaging';
import type { Database, SqlExecutor } from '@hishamos/persistence';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import {
  checkDeadline,
  formatTable,
  machineInfo,
  measureComponentCpu,
  measureCpu,
  median,
  nowMs,
  parseArgs,
  round,
  summarize,
  until,
  withTimeout,
  writeResults,
  type Summary,
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
  postgresSettings,
  REPO,
  SENT_HEADER,
  taskPayload,
  TOPIC,
} from './fixture';

// Run order within a round: the batch paths right after raw, so the target's ratio compares runs close in time.
const PATHS = ['raw', 'outbox-batch', 'direct-batch', 'outbox', 'direct'] as const;
type PathId = (typeof PATHS)[number];
type AdapterPath = Exclude<PathId, 'raw'>;
const LABELS: Record<PathId, string> = {
  raw: 'raw kafkajs (sendBatch -> eachBatch + commit)',
  direct: 'adapter: transport.send -> bus.subscribe (idempotency + one effect INSERT per event)',
  outbox:
    'adapter full, per event: Outbox.add x batch in a tx -> relay -> bus.subscribe (idempotency + effect per event)',
  'direct-batch': 'adapter: transport.send -> bus.subscribeBatch (idempotency + one effect INSERT per batch)',
  'outbox-batch':
    'adapter full, batch APIs: Outbox.addMany in a tx -> relay -> bus.subscribeBatch (idempotency + effect per batch)',
};
/** The path the target is about: the full path (outbox + idempotency) with the batch APIs. */
const TARGET_PATH: PathId = 'outbox-batch';

const USAGE = `usage: node -r @swc-node/register bench/bus/run.ts [options]
  --events N       events per path (default 20000)
  --batch N        produce batch / outbox transaction size (default 500)
  --partitions N   partitions of the fresh topics (default 6)
  --payload N      target size in bytes of the protobuf TaskRequested payload (default 256)
  --concurrency N  partitions consumed at the same time, raw and adapter alike (default 1)
  --max-batch N    subscribeBatch maxBatchSize: most events per handler call (default 500)
  --relay-batch N  outbox rows the relay publishes per transaction (default 500)
  --commit-hooks B producer transactions with commit hooks (transactionWithHooks), so the relay is woken
                   after each commit (default true); false: plain db.transaction, the relay is woken
                   before the commit and otherwise polls every 100 ms
  --warmup N       events per path in an unmeasured warm-up round first (default 1000; 0 = none)
  --repeat N       measured rounds, each over every path (default 1)
  --paths LIST     comma-separated subset of ${PATHS.join(',')} (default all)
  --timeout S      seconds each path may take before the bench fails (default 180)
  --min-ratio R    exit 2 when the ${TARGET_PATH} path's median ratio to raw kafkajs is below R (default 0: report only)
  --out NAME       results file bench/results/NAME.json (default bus)`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    events: 20000,
    batch: 500,
    partitions: 6,
    payload: 256,
    concurrency: 1,
    'max-batch': 500,
    'relay-batch': 500,
    'commit-hooks': true,
    warmup: 1000,
    repeat: 1,
    paths: PATHS.join(','),
    timeout: 180,
    'min-ratio': 0,
    out: 'bus',
  },
  USAGE,
);

interface PathResult {
  path: PathId;
  label: string;
  events: number;
  seconds: number;
  eventsPerSec: number;
  ratioToRaw?: number;
  /** Seconds from the first produce until the producer side was done (all sent / all outbox rows committed). */
  producedAtSec: number;
  latencyMs: Summary;
  cpu: CpuFigures;
  verified: Record<string, number | boolean>;
}

/** Where the CPU went while a path ran: all three components share this machine's cores. */
interface CpuFigures {
  /** Busy time of the whole machine over the path, % of all cores. */
  machinePct?: number;
  /** This Node process (producer, relay and consumer share its one event loop), % of one core. */
  nodePct: number;
  /** SQL statements (Postgres round trips) this process sent per event. */
  pgQueriesPerEvent: number;
  /** CPU microseconds per event, by component (node, postgres, kafka), their total, and `other` (kernel, other work on the machine). */
  usPerEvent: Record<string, number>;
}

function cpuMeter(n: number): () => CpuFigures {
  const machine = measureCpu();
  const components = measureComponentCpu();
  const queries = pgQueryCounter();
  const started = nowMs();
  return () => {
    const pgQueriesPerEvent = queries() / n;
    const wallSec = (nowMs() - started) / 1000;
    const m = machine();
    const c = components();
    const usPerEvent: Record<string, number> = {};
    for (const [k, sec] of Object.entries(c)) usPerEvent[k] = (sec * 1e6) / n;
    usPerEvent.total = Object.values(usPerEvent).reduce((a, b) => a + b, 0);
    // Busy CPU not accounted to node, postgres or kafka: the kernel, and anything else running on the machine.
    if (m.machinePct !== undefined)
      usPerEvent.other = Math.max(0, ((m.machinePct / 100) * m.cores * wallSec * 1e6) / n - usPerEvent.total);
    return { machinePct: m.machinePct, nodePct: m.processPct, pgQueriesPerEvent, usPerEvent };
  };
}

interface Infra {
  brokers: string[];
  producerDb: Database;
  consumerDb: Database;
}

// ---------------------------------------------------------------------------------------------
// Path 1: raw kafkajs

async function runRaw(infra: Infra, n: number, pad: string, deadline: number): Promise<PathResult> {
  const prefix = newPrefix('raw');
  const topic = `${prefix}.${TOPIC}`;
  // The same client settings as the adapter's KafkaTransport (retries, connection timeout).
  const kafka = new Kafka({
    clientId: 'bench-raw',
    brokers: infra.brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    connectionTimeout: 3000,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const groupId = `${prefix}-group`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  const latencies = new Float64Array(n);
  let consumed = 0;
  let finishedAt = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  try {
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: opts.partitions, replicationFactor: 1 }],
    });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: opts.concurrency,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return;
        const last = batch.messages[batch.messages.length - 1];
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
        const at = nowMs();
        for (const m of batch.messages) {
          if (consumed < n) latencies[consumed] = at - Number(String(m.headers?.[SENT_HEADER]));
          consumed++;
        }
        if (consumed >= n && !finishedAt) {
          finishedAt = nowMs();
          resolveDone();
        }
      },
    });

    const cpu = cpuMeter(n);
    const t0 = nowMs();
    for (let start = 0; start < n; start += opts.batch) {
      checkDeadline(deadline, `raw kafkajs producing ${n} events`);
      const sent = String(nowMs());
      const messages = [];
      for (let i = start; i < Math.min(n, start + opts.batch); i++) {
        const ev = encodeEvent(TOPIC, taskPayload(i, pad), {
          key: keyOf(i),
          source: 'bench-raw',
          headers: { [SENT_HEADER]: sent },
        });
        messages.push({ key: ev.key, value: Buffer.from(ev.value), headers: ev.headers });
      }
      await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [{ topic, messages }] });
    }
    const produced = nowMs();
    await withTimeout(done, Math.max(1, deadline - Date.now()), `raw kafkajs consuming ${n} events`);
    const cpuUsed = cpu();
    const seconds = (finishedAt - t0) / 1000;

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    if (committed !== n) throw new Error(`raw kafkajs: committed offsets sum to ${committed}, expected ${n}`);
    if (consumed !== n) throw new Error(`raw kafkajs: consumed ${consumed} messages, expected ${n}`);
    return {
      path: 'raw',
      label: LABELS.raw,
      events: n,
      seconds,
      eventsPerSec: n / seconds,
      producedAtSec: (produced - t0) / 1000,
      latencyMs: summarize(latencies),
      cpu: cpuUsed,
      verified: { consumed, committedOffsets: committed },
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await deleteTopics(infra.brokers, prefix).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Paths 2 to 5: the HishamOS Kafka adapter

async function runAdapter(
  path: AdapterPath,
  infra: Infra,
  n: number,
  pad: string,
  deadline: number,
): Promise<PathResult> {
  const prefix = newPrefix(path);
  const group = `${prefix}-consumer`;
  const { producerDb, consumerDb } = infra;
  await consumerDb.query('TRUNCATE effects, processed_events');
  await producerDb.query('TRUNCATE outbox');
  // Two services, two buses (each its own kafkajs client), as in production.
  const producerBus = createEventBus(
    {
      transport: 'kafka',
      brokers: infra.brokers,
      clientId: 'bench-producer',
      partitions: opts.partitions,
      topicPrefix: prefix,
    },
    'bench-producer',
  ) as TransportEventBus;
  const consumerBus = createEventBus(
    {
      transport: 'kafka',
      brokers: infra.brokers,
      clientId: 'bench-consumer',
      partitions: opts.partitions,
      topicPrefix: prefix,
    },
    'bench-consumer',
  ) as TransportEventBus;
  const viaOutbox = path === 'outbox' || path === 'outbox-batch';
  const batchApis = path === 'direct-batch' || path === 'outbox-batch';
  const latency = new Map<string, number>();
  let handledAll = false;
  let resolveHandled!: () => void;
  const handled = new Promise<void>((r) => (resolveHandled = r));
  const seen = (events: Envelope<typeof TOPIC>[]) => {
    const at = nowMs();
    for (const ev of events) latency.set(ev.attributes.id, at - Number(ev.headers[SENT_HEADER]));
    if (latency.size >= n && !handledAll) {
      handledAll = true;
      resolveHandled();
    }
  };
  try {
    await producerBus.start([TOPIC]);
    await consumerBus.start([TOPIC]);
    if (batchApis) {
      await consumerBus.subscribeBatch(
        group,
        TOPIC,
        consumerDb,
        async (events, { tx }) => {
          await tx.query(
            `INSERT INTO effects (event_id, task_id, requested_by)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`,
            [
              events.map((ev) => ev.attributes.id),
              events.map((ev) => ev.payload.taskId),
              events.map((ev) => ev.payload.requestedBy),
            ],
          );
          seen(events);
        },
        { concurrency: opts.concurrency, maxBatchSize: opts['max-batch'] },
      );
    } else {
      await consumerBus.subscribe(
        group,
        TOPIC,
        consumerDb,
        async (ev, { tx }) => {
          await tx.query('INSERT INTO effects (event_id, task_id, requested_by) VALUES ($1, $2, $3)', [
            ev.attributes.id,
            ev.payload.taskId,
            ev.payload.requestedBy,
          ]);
          seen([ev]);
        },
        { concurrency: opts.concurrency },
      );
    }
    const outbox = new Outbox('bench-producer');
    // The producer's state-change transaction: with commit hooks, Outbox wakes the relay once it has committed.
    const producerTx = <R>(fn: (tx: SqlExecutor) => Promise<R>): Promise<R> =>
      opts['commit-hooks'] ? transactionWithHooks(producerDb, fn) : producerDb.transaction(fn);
    if (viaOutbox) producerBus.relay(producerDb, outbox, { batchSize: opts['relay-batch'] });

    const cpu = cpuMeter(n);
    const t0 = nowMs();
    for (let start = 0; start < n; start += opts.batch) {
      checkDeadline(deadline, `${path}: producing ${n} events`);
      const end = Math.min(n, start + opts.batch);
      if (!viaOutbox) {
        const sent = String(nowMs());
        const messages = [];
        for (let i = start; i < end; i++)
          messages.push(
            buildMessage('bench-producer', TOPIC, taskPayload(i, pad), {
              key: keyOf(i),
              headers: { [SENT_HEADER]: sent },
            }),
          );
        await producerBus.transport.send(messages);
      } else if (batchApis) {
        await producerTx(async (tx) => {
          const headers = { [SENT_HEADER]: String(nowMs()) };
          const payloads = [];
          for (let i = start; i < end; i++) payloads.push(taskPayload(i, pad));
          await outbox.addMany(tx, TOPIC, payloads, (_, j) => ({ key: keyOf(start + j), headers }));
        });
      } else {
        await producerTx(async (tx) => {
          for (let i = start; i < end; i++)
            await outbox.add(tx, TOPIC, taskPayload(i, pad), {
              key: keyOf(i),
              headers: { [SENT_HEADER]: String(nowMs()) },
            });
        });
      }
    }
    const produced = nowMs();
    await withTimeout(handled, Math.max(1, deadline - Date.now()), `${path}: handling ${n} events`);
    // The handler ran for every event; the last transactions commit right after it. Stop the clock on the count.
    const countEffects = async () =>
      Number((await consumerDb.query<{ n: string }>('SELECT count(*)::text AS n FROM effects'))[0].n);
    await until(async () => (await countEffects()) >= n, `${path}: ${n} committed effects`, deadline, 2);
    const finished = nowMs();
    const cpuUsed = cpu();
    const seconds = (finished - t0) / 1000;

    // Verification (not timed): exactly n effects, n processed ids, offsets committed, outbox drained.
    await until(
      async () => Object.values(await consumerBus.lag(group, [TOPIC])).reduce((a, b) => a + b, 0) === 0,
      `${path}: consumer offsets committed`,
      deadline,
      20,
    );
    const effects = await countEffects();
    const processed = Number(
      (
        await consumerDb.query<{ n: string }>('SELECT count(*)::text AS n FROM processed_events WHERE consumer = $1', [
          group,
        ])
      )[0].n,
    );
    const outboxLeft = Number((await producerDb.query<{ n: string }>('SELECT count(*)::text AS n FROM outbox'))[0].n);
    if (effects !== n) throw new Error(`${path}: ${effects} effect rows, expected exactly ${n}`);
    if (processed !== n) throw new Error(`${path}: ${processed} processed_events rows, expected exactly ${n}`);
    if (outboxLeft !== 0) throw new Error(`${path}: ${outboxLeft} rows left in the outbox`);
    return {
      path,
      label: LABELS[path],
      events: n,
      seconds,
      eventsPerSec: n / seconds,
      producedAtSec: (produced - t0) / 1000,
      latencyMs: summarize([...latency.values()]),
      cpu: cpuUsed,
      verified: { effects, processedEvents: processed, outboxLeft, lag: 0 },
    };
  } finally {
    await consumerBus.stop().catch(() => undefined);
    await producerBus.stop().catch(() => undefined);
    await deleteTopics(infra.brokers, prefix).catch(() => undefined);
  }
}

function runPath(path: PathId, infra: Infra, n: number, pad: string): Promise<PathResult> {
  const ms = opts.timeout * 1000;
  const deadline = Date.now() + ms;
  const run = path === 'raw' ? runRaw(infra, n, pad, deadline) : runAdapter(path, infra, n, pad, deadline);
  // Each path checks its own deadline and cleans up; this is the backstop if it hangs anyway.
  return withTimeout(run, ms + 10000, `path ${path} (${n} events, --timeout ${opts.timeout} s)`).catch((error) => {
    throw new Error(`path ${path} (${n} events): ${(error as Error).message}`);
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const paths = String(opts.paths)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean) as PathId[];
  for (const p of paths) if (!PATHS.includes(p)) throw new Error(`unknown path ${p} (known: ${PATHS.join(', ')})`);
  if (opts.events < 1 || opts.batch < 1 || opts.repeat < 1)
    throw new Error('--events, --batch and --repeat must be positive');

  const machine = machineInfo(REPO); // before we load the machine ourselves (load average)
  const brokers = await requireKafka();
  const pg = await requirePostgresDatabase('bench_bus');
  const tag = randomBytes(3).toString('hex');
  const producerSchema = `bench_producer_${tag}`;
  const consumerSchema = `bench_consumer_${tag}`;
  let infra: Infra | undefined;
  try {
    const pgSettings = await postgresSettings(pg.url);
    const producerDb = await openServiceSchema(pg.url, producerSchema);
    const consumerDb = await openServiceSchema(pg.url, consumerSchema);
    await consumerDb.query(EFFECTS_DDL);
    infra = { brokers, producerDb, consumerDb };

    const pad = payloadPad(opts.payload);
    const sample = encodeEvent(TOPIC, taskPayload(0, pad), {
      key: keyOf(0),
      source: 'bench-producer',
      headers: { [SENT_HEADER]: String(nowMs()) },
    });
    const payloadBytes = sample.value.length;
    const headerBytes = Object.entries(sample.headers).reduce((s, [k, v]) => s + k.length + v.length, 0);
    console.log(
      `bench/bus: ${opts.events} events/path, batch ${opts.batch}, ${opts.partitions} partitions, payload ${payloadBytes} B (+${headerBytes} B headers), brokers ${brokers.join(',')}`,
    );
    console.log(
      `postgres ${pgSettings.server_version}: fsync=${pgSettings.fsync} synchronous_commit=${pgSettings.synchronous_commit}`,
    );

    if (opts.warmup > 0) {
      for (const p of paths) {
        const r = await runPath(p, infra, opts.warmup, pad);
        console.log(`warm-up ${p} (${opts.warmup} events): ${Math.round(r.eventsPerSec)} events/s`);
      }
    }

    const runs: { round: number; results: PathResult[] }[] = [];
    for (let round_ = 1; round_ <= opts.repeat; round_++) {
      const results: PathResult[] = [];
      for (const p of paths) {
        const r = await runPath(p, infra, opts.events, pad);
        console.log(
          `round ${round_}/${opts.repeat}: ${p}: ${Math.round(r.eventsPerSec)} events/s in ${r.seconds.toFixed(2)} s`,
        );
        results.push(r);
      }
      const raw = results.find((r) => r.path === 'raw');
      for (const r of results) if (raw) r.ratioToRaw = r.eventsPerSec / raw.eventsPerSec;
      runs.push({ round: round_, results });
    }

    const rows = runs.flatMap(({ round: rnd, results }) =>
      results.map((r) => [
        opts.repeat > 1 ? `${rnd}` : '1',
        r.path,
        r.events,
        round(r.seconds, 2),
        Math.round(r.eventsPerSec),
        r.ratioToRaw === undefined ? '-' : `${(r.ratioToRaw * 100).toFixed(1)}%`,
        round(r.latencyMs.p50, 1),
        round(r.latencyMs.p99, 1),
      ]),
    );
    console.log('');
    console.log(formatTable(['round', 'path', 'events', 'seconds', 'events/s', 'vs raw', 'p50 ms', 'p99 ms'], rows));
    for (const p of paths) console.log(`  ${p.padEnd(6)} ${LABELS[p]}`);
    console.log(
      '\nCPU per event (microseconds of CPU time; node = this process, which runs producer, relay and consumer):',
    );
    const cpuRows = runs.flatMap(({ round: rnd, results }) =>
      results.map((r) => [
        `${rnd}`,
        r.path,
        Math.round(r.cpu.usPerEvent.node),
        Math.round(r.cpu.usPerEvent.postgres ?? NaN),
        Math.round(r.cpu.usPerEvent.kafka ?? NaN),
        Math.round(r.cpu.usPerEvent.total),
        Math.round(r.cpu.usPerEvent.other ?? NaN),
        r.cpu.machinePct === undefined ? '-' : `${Math.round(r.cpu.machinePct)}%`,
        `${Math.round(r.cpu.nodePct)}%`,
        round(r.cpu.pgQueriesPerEvent, 2),
      ]),
    );
    console.log(
      formatTable(
        [
          'round',
          'path',
          'node us',
          'postgres us',
          'kafka us',
          'sum us',
          'other us',
          'machine busy',
          'node busy',
          'pg stmts/event',
        ],
        cpuRows,
      ),
    );

    const summary = paths.map((p) => {
      const mine = runs.map((r) => r.results.find((x) => x.path === p)!);
      const ratios = mine.map((r) => r.ratioToRaw).filter((x): x is number => x !== undefined);
      return {
        path: p,
        medianEventsPerSec: Math.round(median(mine.map((r) => r.eventsPerSec))),
        medianRatioToRaw: ratios.length ? round(median(ratios), 3) : undefined,
        medianP50Ms: round(median(mine.map((r) => r.latencyMs.p50)), 1),
        medianP99Ms: round(median(mine.map((r) => r.latencyMs.p99)), 1),
      };
    });
    const full = summary.find((s) => s.path === TARGET_PATH);
    const target = {
      description: `adapter full path (outbox + idempotency, batch APIs: ${TARGET_PATH}) >= 50% of raw kafkajs events/s`,
      path: TARGET_PATH,
      ratio: 0.5,
      measured: full?.medianRatioToRaw,
      met: full?.medianRatioToRaw === undefined ? undefined : full.medianRatioToRaw >= 0.5,
    };
    console.log('\nmedians over the rounds:');
    console.log(
      formatTable(
        ['path', 'events/s', 'vs raw', 'p50 ms', 'p99 ms'],
        summary.map((x) => [
          x.path,
          x.medianEventsPerSec,
          x.medianRatioToRaw === undefined ? '-' : `${(x.medianRatioToRaw * 100).toFixed(1)}%`,
          x.medianP50Ms,
          x.medianP99Ms,
        ]),
      ),
    );
    if (target.measured !== undefined)
      console.log(
        `\ntarget: ${target.description}: measured ${(target.measured * 100).toFixed(1)}% -> ${target.met ? 'MET' : 'NOT MET'}`,
      );

    const file = writeResults(REPO, String(opts.out), {
      benchmark: 'bus',
      machine,
      infra: { kafkaBrokers: brokers, postgres: pgSettings },
      config: {
        events: opts.events,
        batch: opts.batch,
        partitions: opts.partitions,
        payloadBytes,
        headerBytes,
        concurrency: opts.concurrency,
        maxBatch: opts['max-batch'],
        relayBatch: opts['relay-batch'],
        commitHooks: opts['commit-hooks'],
        warmup: opts.warmup,
        repeat: opts.repeat,
        timeoutSec: opts.timeout,
        paths,
      },
      paths: Object.fromEntries(paths.map((p) => [p, LABELS[p]])),
      runs: runs.map(({ round: rnd, results }) => ({
        round: rnd,
        results: results.map((r) => ({
          ...r,
          seconds: round(r.seconds, 3),
          eventsPerSec: Math.round(r.eventsPerSec),
          ratioToRaw: r.ratioToRaw === undefined ? undefined : round(r.ratioToRaw, 3),
          producedAtSec: round(r.producedAtSec, 3),
          latencyMs: Object.fromEntries(
            Object.entries(r.latencyMs).map(([k, v]) => [k, k === 'count' ? v : round(v, 2)]),
          ),
          cpu: {
            machinePct: r.cpu.machinePct === undefined ? undefined : round(r.cpu.machinePct, 1),
            nodePct: round(r.cpu.nodePct, 1),
            pgQueriesPerEvent: round(r.cpu.pgQueriesPerEvent, 2),
            usPerEvent: Object.fromEntries(Object.entries(r.cpu.usPerEvent).map(([k, v]) => [k, round(v, 1)])),
          },
        })),
      })),
      summary,
      target,
    });
    console.log(`results: ${file}`);
    if (opts['min-ratio'] > 0 && (target.measured === undefined || target.measured < opts['min-ratio'])) {
      console.error(
        `bench/bus: ${TARGET_PATH} path ratio ${target.measured ?? 'n/a'} is below --min-ratio ${opts['min-ratio']}`,
      );
      return 2;
    }
    return 0;
  } finally {
    await withTimeout(
      (async () => {
        await infra?.producerDb.close().catch(() => undefined);
        await infra?.consumerDb.close().catch(() => undefined);
        await pg
          .drop()
          .catch((e) => console.error(`cleanup: dropping the bench database failed: ${(e as Error).message}`));
        await dropRoles([`hishamos_${producerSchema}`, `hishamos_${consumerSchema}`]).catch((e) =>
          console.error(`cleanup: dropping the bench roles failed: ${(e as Error).message}`),
        );
      })(),
      30000,
      'cleanup',
    ).catch((e) => console.error(`bench/bus: ${(e as Error).message}`));
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`\nbench/bus FAILED: ${(error as Error).message}`);
    process.exit(1);
  },
);
