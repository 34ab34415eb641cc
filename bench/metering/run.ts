/**
 * bench/metering — usage-metering's two hot paths, measured on the real service in its own process:
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/metering/run.ts [--records 50000]
 *
 * 1. Ingestion: N UsageRecorded events (protobuf CloudEvents) are put on a fresh Kafka topic first; then
 *    usage-metering starts and drains it into Postgres (idempotent: api_usage unique by request id,
 *    priced in NUMERIC, daily aggregates, spend counters, threshold checks, all in
 *    one transaction per batch). Records/s = records committed / (last commit - first commit), from a
 *    poll of the global spend counter. The ceiling: a raw `COPY ... FROM STDIN` of the same N rows into a
 *    table like api_usage (same indexes and constraints), in the same run.
 * 2. Reservations: POST /internal/v1/reservations round trips (HTTP keep-alive, service credentials) with
 *    1 in flight, with 100 in flight over 1000 users, and with 100 in flight on a single user (one
 *    counter row, the worst case), plus an open-loop run at a fixed rate. Every user has a daily hard
 *    limit, so each grant locks and updates its counter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { dlqTopic, encodeEvent, Topics, type PayloadInit } from '@hishamos/contracts';
import { provisionServiceRole } from '@hishamos/persistence';
import { serviceCredential } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import {
  formatTable,
  INFRA_PROCESSES,
  machineInfo,
  measureComponentCpu,
  parseArgs,
  round,
  summarize,
  until,
  writeResults,
  type Summary,
} from '../lib';
import { BudgetLeases } from '../../services/agent-gateway/src/budget/budget-leases';
import { MeteringHttpClient } from '../../services/agent-gateway/src/budget/metering-http.client';
import { copyIn, copyText } from './copy-in';

const REPO = join(__dirname, '..', '..');
const USAGE = `usage: node -r @swc-node/register bench/metering/run.ts [options]
  --records N       usage records ingested (default 50000)
  --users N         distinct users (Kafka keys) in the records and the reservation runs (default 1000)
  --partitions N    partitions of the usage topic (default 6)
  --batch N         USAGE_INGEST_BATCH_SIZE: records per transaction (default 2000)
  --concurrency N   USAGE_INGEST_CONCURRENCY: partitions ingested at once (default 3)
  --reservations N  reservations in each concurrent run (default 10000)
  --sequential N    reservations one at a time (default 2000)
  --inflight N      reservations in flight in the concurrent runs (default 100)
  --slots N         RESERVATION_BATCH_CONCURRENCY: reservation statements at once (default: the service's, 4)
  --rate N          open-loop run: reservations per second for 10 s (default 200; 0 = skip)
  --callers N       gateway-like run: N callers, each reserving then waiting --think ms (a provider call),
                    for 15 s (default 100; 0 = skip)
  --think MS        the simulated provider call between a caller's reservations (default 250)
  --mixed-rate N    mixed run: ingest the records again while reservations arrive at N/s for the same
                    users (default 200; 0 = skip)
  --skip-ingest     only the reservation runs
  --skip-reserve    only the ingestion run
  --timeout S       seconds a phase may take (default 300)
  --service-log F   append the service's own log (LOG_LEVEL=warn) to file F
  --cpu-prof DIR    write the service's V8 CPU profiles (node --cpu-prof) to DIR
  --node-args ARGS  extra node options for the service process (e.g. --max-semi-space-size=32)
  --out NAME        results file bench/results/NAME.json (default metering)`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    records: 50000,
    users: 1000,
    partitions: 6,
    batch: 2000,
    concurrency: 3,
    reservations: 10000,
    sequential: 2000,
    inflight: 100,
    slots: 0,
    rate: 200,
    callers: 100,
    'mixed-rate': 200,
    think: 250,
    'skip-ingest': false,
    'skip-reserve': false,
    timeout: 300,
    out: 'metering',
    'service-log': '',
    'cpu-prof': '',
    'node-args': '',
  },
  USAGE,
);

const TOKEN = 'bench-metering-service-token-'.padEnd(48, 'x');
const SCHEMA = 'usage_metering';
/** Seeded list prices in pico-dollars per token: input, output, cached input. */
const MODELS: [string, string, bigint, bigint, bigint][] = [
  ['openai', 'gpt-4o', 2_500_000n, 10_000_000n, 1_250_000n],
  ['openai', 'gpt-4o-mini', 150_000n, 600_000n, 75_000n],
  ['anthropic', 'claude-sonnet-4-20250514', 3_000_000n, 15_000_000n, 300_000n],
  ['gemini', 'gemini-2.5-flash', 300_000n, 2_500_000n, 75_000n],
];
const AGENTS = ['coding', 'code-reviewer', 'qa', 'devops', 'security', 'business-analyst'];
const COMMANDS = ['write_code', 'review_code', 'write_test', 'deploy', 'run_security_scan', 'write_user_stories'];

interface BenchRecord {
  requestId: string;
  userId: string;
  teamId: string;
  agent: string;
  command: string;
  model: number;
  input: number;
  output: number;
  cached: number;
  at: Date;
}

function makeRecords(n: number, users: number): BenchRecord[] {
  let s = 12345;
  const rand = (lo: number, hi: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return lo + (s % (hi - lo + 1));
  };
  const base = Date.now() - 3600_000;
  return Array.from({ length: n }, (_, i) => {
    const input = rand(200, 20000);
    return {
      requestId: `bench-${i}-${randomUUID()}`,
      userId: `user-${i % users}`,
      teamId: `team-${i % 20}`,
      agent: AGENTS[i % AGENTS.length],
      command: COMMANDS[i % COMMANDS.length],
      model: i % MODELS.length,
      input,
      output: rand(0, 4000),
      cached: rand(0, Math.floor(input / 2)),
      at: new Date(base + Math.floor((i * 3600_000) / n)),
    };
  });
}

const costOf = (r: BenchRecord) => {
  const [, , i, o, c] = MODELS[r.model];
  return BigInt(r.input - r.cached) * i + BigInt(r.output) * o + BigInt(r.cached) * c;
};
const picoText = (p: bigint) => `${p / 10n ** 12n}.${(p % 10n ** 12n).toString().padStart(12, '0')}`;

function payload(r: BenchRecord): PayloadInit<typeof Topics.UsageRecorded> {
  const [provider, model] = MODELS[r.model];
  return {
    requestId: r.requestId,
    userId: r.userId,
    teamId: r.teamId,
    agent: r.agent,
    command: r.command,
    provider,
    model,
    usage: { inputTokens: BigInt(r.input), outputTokens: BigInt(r.output), cachedInputTokens: BigInt(r.cached) },
    occurredAt: { seconds: BigInt(Math.floor(r.at.getTime() / 1000)), nanos: (r.at.getTime() % 1000) * 1e6 },
    runId: `run-${r.userId}`,
    templateVersion: 'v1',
    currency: 'USD',
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** usage-metering as its own process (distributed mode), the way it runs in production. */
async function startService(
  env: Record<string, string>,
  deadline: number,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...(opts['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', opts['cpu-prof']] : []),
      ...opts['node-args'].split(' ').filter(Boolean),
      '-r',
      '@swc-node/register',
      join(REPO, 'services/usage-metering/src/main.ts'),
    ],
    {
      cwd: REPO,
      env: {
        ...process.env,
        SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'),
        NODE_OPTIONS: '',
        HISHAMOS_MODE: 'distributed',
        SERVICE_TOKEN: TOKEN,
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  const keep = (d: Buffer) => {
    err = (err + String(d)).slice(-20000);
    if (opts['service-log']) appendFileSync(opts['service-log'], d);
  };
  child.stderr!.on('data', keep);
  child.stdout!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.once('exit', () => (exited = true));
  await until(
    async () => {
      if (exited) throw new Error(`usage-metering exited: ${err}`);
      try {
        return (await fetch(`${url}/health/ready`)).ok;
      } catch {
        return false;
      }
    },
    'usage-metering readiness',
    deadline,
    100,
  );
  return { child, url };
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * The gateway's reservation call over node:http with a keep-alive agent (one connection per request in
 * flight, reused): a lighter client than fetch, whose CPU would otherwise be counted against the service
 * on the shared cores. Each request has a new request id; latency is request sent -> response read.
 */
function reservationClient(url: string, maxSockets: number) {
  const auth = `Bearer ${serviceCredential(TOKEN, 'agent-gateway')}`;
  const agent = new Agent({ keepAlive: true, maxSockets });
  const target = new URL(`${url}/internal/v1/reservations`);
  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            authorization: auth,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const once = async (userId: string): Promise<{ ms: number; ok: boolean }> => {
    const body = JSON.stringify({
      requestId: randomUUID(),
      userId,
      provider: 'openai',
      model: 'gpt-4o',
      agent: 'coding',
      inputTokens: 1000,
      maxOutputTokens: 500,
    });
    const t0 = performance.now();
    const status = await post(body);
    return { ms: performance.now() - t0, ok: status === 201 };
  };
  return { once, close: () => agent.destroy() };
}

/** An open loop: `rate` reservations per second over `users(i)` until `stop()` says so. */
async function openLoop(
  once: (userId: string) => Promise<{ ms: number; ok: boolean }>,
  rate: number,
  users: (i: number) => string,
  stop: (i: number) => boolean,
): Promise<{ samples: number[]; granted: number; seconds: number }> {
  const samples: number[] = [];
  let granted = 0;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; !stop(i); i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      once(users(i)).then((r) => {
        samples.push(r.ms);
        if (r.ok) granted++;
      }),
    );
  }
  await Promise.all(pending);
  return { samples, granted, seconds: (performance.now() - t0) / 1000 };
}

interface IngestResult {
  records: number;
  seconds: number;
  recordsPerSec: number;
  copySeconds: number;
  copyRecordsPerSec: number;
  ratioToCopy: number;
  /** Until the last UsagePriced event left the outbox (published to Kafka). */
  publishedSeconds: number;
  publishedPerSec: number;
  verified: { rows: number; costExact: boolean; dailyRequests: number; usagePriced: number };
  cpuSecondsPerRecordUs: { [component: string]: number };
}

/**
 * Ingests N records. With `reserveRate` > 0 (the mixed run), the gateway's reservations arrive at that
 * rate while the records are ingested, for the same users, under their daily hard limits and a global
 * one: every grant locks the counters the ingestion updates. `split`: the reservations go to a second
 * service process that does not ingest (USAGE_INGEST_ENABLED=false), as API replicas would. The mixed
 * run skips the COPY ceiling.
 */
async function ingest(
  adminUrl: string,
  brokers: string[],
  deadline: number,
  reserveRate = 0,
  split = false,
): Promise<IngestResult & { reservations?: ReserveRun }> {
  const prefix = `b${randomUUID().slice(0, 8)}`;
  const topic = `${prefix}.${Topics.UsageRecorded}`;
  const kafka = new Kafka({ brokers, clientId: 'bench-metering', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      topic,
      dlqTopic(topic),
      `${prefix}.${Topics.BudgetThresholdCrossed}`,
      dlqTopic(`${prefix}.${Topics.BudgetThresholdCrossed}`),
      `${prefix}.${Topics.UsagePriced}`,
      dlqTopic(`${prefix}.${Topics.UsagePriced}`),
    ].map((t) => ({
      topic: t,
      numPartitions: opts.partitions,
    })),
    waitForLeaders: true,
  });
  const records = makeRecords(opts.records, opts.users);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < records.length; i += 1000) {
    await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.None,
      messages: records.slice(i, i + 1000).map((r) => {
        const ev = encodeEvent(Topics.UsageRecorded, payload(r), { key: r.userId, source: 'hishamos/agent-gateway' });
        return { key: ev.key, value: Buffer.from(ev.value), headers: ev.headers };
      }),
    });
  }
  await producer.disconnect();
  console.log(`  ${records.length} records on ${topic} (${opts.partitions} partitions)`);

  const dbUrl = await provisionServiceRole(adminUrl, SCHEMA, 'bench-pw');
  const pg = new Client({ connectionString: adminUrl });
  pg.on('error', (e) => console.error(`bench database connection: ${e.message}`));
  await pg.connect();
  await pg.query(`SET search_path TO ${SCHEMA}`);
  const cpu = measureComponentCpu({
    ...INFRA_PROCESSES,
    metering: (_c, cmd) => cmd.includes('usage-metering/src/main.ts'),
  });
  const { child, url } = await startService(
    {
      DATABASE_URL: dbUrl,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: String(opts.partitions),
      USAGE_INGEST_BATCH_SIZE: String(opts.batch),
      USAGE_INGEST_CONCURRENCY: String(opts.concurrency),
    },
    deadline,
  );
  let first = 0;
  let firstCount = 0;
  let last = 0;
  let drained = 0;
  let spent: { [component: string]: number } = {};
  let shown = performance.now();
  let ingesting = true;
  let mixed: Promise<{ samples: number[]; granted: number; seconds: number }> | undefined;
  const api = split
    ? await startService(
        {
          DATABASE_URL: dbUrl,
          KAFKA_BROKERS: brokers.join(','),
          KAFKA_TOPIC_PREFIX: prefix,
          KAFKA_TOPIC_PARTITIONS: String(opts.partitions),
          USAGE_INGEST_ENABLED: 'false',
        },
        deadline,
      )
    : undefined;
  const client = reserveRate > 0 ? reservationClient(api?.url ?? url, 200) : undefined;
  if (client) {
    await pg.query(
      `INSERT INTO budgets (scope, scope_id, period, soft_usd, hard_usd)
       SELECT 'user', 'user-' || g, 'day', 500000, 1000000 FROM generate_series(0, $1::int - 1) g
       UNION ALL SELECT 'global', '', 'day', 50000000, 100000000`,
      [opts.users],
    );
    mixed = openLoop(
      client.once,
      reserveRate,
      (i) => `user-${(i * 7919) % opts.users}`,
      () => !ingesting,
    );
  }
  try {
    await until(
      async () => {
        const r = await pg.query<{ n: string }>(
          `SELECT coalesce(sum(requests), 0)::text AS n FROM spend_counters WHERE scope = 'global' AND period = 'day'`,
        );
        const n = Number(r.rows[0].n);
        const t = performance.now();
        if (n > 0 && !first) {
          first = t;
          firstCount = n;
        }
        if (n >= records.length) last = t;
        if (t - shown > 5000) {
          shown = t;
          console.log(`  ... ${n} records ingested`);
        }
        return n >= records.length;
      },
      'ingestion',
      deadline,
      20,
    );
    // The UsagePriced events of those records, written to the outbox in the same transactions, are
    // published by the service's relay: the pipeline is done when the outbox is empty.
    await until(
      async () => {
        const r = await pg.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox`);
        drained = performance.now();
        return Number(r.rows[0].n) === 0;
      },
      'outbox drained',
      deadline,
      20,
    );
    spent = cpu(); // before the service exits: its CPU time is read from /proc
  } finally {
    ingesting = false;
    await mixed?.catch(() => undefined);
    client?.close();
    await stopService(child);
    if (api) await stopService(api.child);
  }
  const seconds = (last - first) / 1000;
  const rate = (records.length - firstCount) / seconds;
  const publishedSeconds = (drained - first) / 1000;
  const pricedTopic = `${prefix}.${Topics.UsagePriced}`;
  const published = (await admin.fetchTopicOffsets(pricedTopic)).reduce((sum, p) => sum + Number(p.high), 0);
  const expected = records.reduce((s, r) => s + costOf(r), 0n);
  const v = await pg.query<{ rows: string; cost: string; daily: string }>(
    `SELECT (SELECT count(*) FROM api_usage)::text AS rows, (SELECT sum(cost) FROM api_usage)::text AS cost,
            (SELECT sum(requests) FROM usage_daily)::text AS daily`,
  );
  const costText = v.rows[0].cost;
  const [w, f = ''] = costText.split('.');
  const costExact = BigInt(w) * 10n ** 12n + BigInt(f.padEnd(12, '0').slice(0, 12)) === expected;
  const verified = {
    rows: Number(v.rows[0].rows),
    costExact,
    dailyRequests: Number(v.rows[0].daily),
    usagePriced: published,
  };
  if (
    verified.rows !== records.length ||
    !costExact ||
    verified.dailyRequests !== records.length ||
    verified.usagePriced !== records.length
  )
    throw new Error(`ingestion verification failed: ${JSON.stringify(verified)}`);

  const cpuSecondsPerRecordUs = Object.fromEntries(
    Object.entries(spent).map(([k, sec]) => [k === 'node' ? 'bench' : k, round((sec * 1e6) / records.length, 1)]),
  );
  if (mixed) {
    const m = await mixed;
    await pg.end();
    await admin.deleteTopics({ topics: [topic, dlqTopic(topic), pricedTopic] }).catch(() => undefined);
    await admin.disconnect();
    return {
      records: records.length,
      seconds: round(seconds, 3),
      recordsPerSec: Math.round(rate),
      publishedSeconds: round(publishedSeconds, 3),
      publishedPerSec: Math.round((records.length - firstCount) / publishedSeconds),
      copySeconds: NaN,
      copyRecordsPerSec: NaN,
      ratioToCopy: NaN,
      verified,
      cpuSecondsPerRecordUs,
      reservations: {
        run: `open loop, ${reserveRate}/s, during ingestion${split ? ', to a process that does not ingest' : ''}`,
        requests: m.samples.length,
        inflight: 'open',
        seconds: round(m.seconds, 2),
        perSec: Math.round(m.samples.length / m.seconds),
        latencyMs: summarize(m.samples),
        granted: m.granted,
      },
    };
  }

  // The ceiling: COPY the same rows into a table like api_usage, same indexes and constraints.
  await pg.query(`CREATE TABLE copy_ceiling (LIKE api_usage INCLUDING ALL)`);
  const tz = 'UTC';
  const lines = records.map((r) => {
    const [provider, model] = MODELS[r.model];
    return [
      r.requestId,
      r.userId,
      r.teamId,
      r.agent,
      r.command,
      provider,
      model,
      r.input,
      r.output,
      r.cached,
      picoText(costOf(r)),
      true,
      r.at.toISOString(),
      r.at.toISOString().slice(0, 10),
      `run-${r.userId}`,
      'v1',
      false,
      'USD',
      r.requestId,
    ]
      .map(copyText)
      .join('\t');
  });
  const data = Buffer.from(`${lines.join('\n')}\n`);
  await pg.query(`SET TIME ZONE '${tz}'`);
  const c0 = performance.now();
  await copyIn(
    pg,
    `COPY copy_ceiling (request_id, user_id, team_id, agent_id, command, provider, model, tokens_input, tokens_output,
       cached_input_tokens, cost, priced, occurred_at, usage_day, run_id, template_version, streamed, currency, event_id)
     FROM STDIN`,
    data,
  );
  const copySeconds = (performance.now() - c0) / 1000;
  const copied = Number((await pg.query<{ n: string }>(`SELECT count(*)::text AS n FROM copy_ceiling`)).rows[0].n);
  if (copied !== records.length) throw new Error(`COPY wrote ${copied} rows`);
  await pg.end();
  await admin.deleteTopics({ topics: [topic, dlqTopic(topic), pricedTopic] }).catch(() => undefined);
  await admin.disconnect();
  const copyRate = records.length / copySeconds;
  return {
    records: records.length,
    seconds: round(seconds, 3),
    recordsPerSec: Math.round(rate),
    publishedSeconds: round(publishedSeconds, 3),
    publishedPerSec: Math.round((records.length - firstCount) / publishedSeconds),
    copySeconds: round(copySeconds, 3),
    copyRecordsPerSec: Math.round(copyRate),
    ratioToCopy: round(rate / copyRate, 3),
    verified,
    cpuSecondsPerRecordUs,
  };
}

interface ReserveRun {
  /** CPU microseconds per request: the service process, Postgres (all backends), this bench process (the client). */
  cpuUsPerRequest?: { [component: string]: number };
  run: string;
  requests: number;
  inflight: number | string;
  seconds: number;
  perSec: number;
  latencyMs: Summary;
  granted: number;
}

async function reservations(adminUrl: string, brokers: string[], deadline: number): Promise<ReserveRun[]> {
  const prefix = `b${randomUUID().slice(0, 8)}`;
  const dbUrl = await provisionServiceRole(adminUrl, SCHEMA, 'bench-pw');
  const { child, url } = await startService(
    {
      DATABASE_URL: dbUrl,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '1',
      ...(opts.slots > 0 ? { RESERVATION_BATCH_CONCURRENCY: String(opts.slots) } : {}),
    },
    deadline,
  );
  const runs: ReserveRun[] = [];
  try {
    const pg = new Client({ connectionString: adminUrl });
    pg.on('error', (e) => console.error(`bench database connection: ${e.message}`));
    await pg.connect();
    await pg.query(`SET search_path TO ${SCHEMA}`);
    await pg.query(
      `INSERT INTO budgets (scope, scope_id, period, soft_usd, hard_usd)
       SELECT 'user', 'r-' || g, 'day', 500000, 1000000 FROM generate_series(0, $1::int - 1) g
       ON CONFLICT DO NOTHING`,
      [opts.users],
    );
    await pg.end();
    const { once, close } = reservationClient(url, Math.max(opts.inflight, opts.callers, 1));
    const closedLoop = async (run: string, n: number, inflight: number, user: (i: number) => string) => {
      const cpu = measureComponentCpu({
        postgres: INFRA_PROCESSES.postgres,
        metering: (_c, cmd) => cmd.includes('usage-metering/src/main.ts'),
      });
      const samples: number[] = [];
      let granted = 0;
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next < n) {
            const i = next++;
            const r = await once(user(i));
            samples.push(r.ms);
            if (r.ok) granted++;
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpuUsPerRequest = Object.fromEntries(
        Object.entries(cpu()).map(([k, sec]) => [k === 'node' ? 'bench' : k, round((sec * 1e6) / n, 0)]),
      );
      runs.push({
        run,
        requests: n,
        inflight,
        seconds: round(seconds, 2),
        perSec: Math.round(n / seconds),
        latencyMs: summarize(samples),
        granted,
        cpuUsPerRequest,
      });
      console.log(`  ${run}: CPU µs per request ${JSON.stringify(cpuUsPerRequest)}`);
    };
    const users = (i: number) => `r-${i % opts.users}`;
    // Warm-up (creates each user's counter for today, JIT, connection pools): not measured.
    await closedLoop('warm-up', opts.users, 20, users);
    runs.length = 0;
    await closedLoop('sequential (1 in flight)', opts.sequential, 1, users);
    await closedLoop(`${opts.inflight} in flight, ${opts.users} users`, opts.reservations, opts.inflight, users);
    await closedLoop(
      `${opts.inflight} in flight, one user (hot row)`,
      Math.min(opts.reservations, 5000),
      opts.inflight,
      () => 'r-0',
    );
    if (opts.rate > 0) {
      const n = opts.rate * 10;
      const { samples, granted, seconds } = await openLoop(once, opts.rate, users, (i) => i >= n);
      runs.push({
        run: `open loop, ${opts.rate}/s, ${opts.users} users`,
        requests: n,
        inflight: 'open',
        seconds: round(seconds, 2),
        perSec: Math.round(n / seconds),
        latencyMs: summarize(samples),
        granted,
      });
    }
    /**
     * Like the gateway: 100 callers, each reserving, then waiting for its provider call (`--think` ms),
     * then settling (`after`) and reserving again, for 15 s; the latency is the reserve step's.
     */
    const callers = async (
      run: string,
      reserve: (userId: string) => Promise<{ ms: number; ok: boolean; after?: () => void }>,
    ) => {
      const cpu = measureComponentCpu({
        postgres: INFRA_PROCESSES.postgres,
        metering: (_c, cmd) => cmd.includes('usage-metering/src/main.ts'),
      });
      const samples: number[] = [];
      let granted = 0;
      const t0 = performance.now();
      const end = t0 + 15_000;
      await Promise.all(
        Array.from({ length: opts.callers }, async (_, c) => {
          // Spread the callers' first requests over one think time.
          await new Promise((r) => setTimeout(r, (c * opts.think) / opts.callers));
          for (let i = c; performance.now() < end; i += opts.callers) {
            const r = await reserve(users(i));
            samples.push(r.ms);
            if (r.ok) granted++;
            await new Promise((res) => setTimeout(res, opts.think));
            r.after?.();
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpuUsPerRequest = Object.fromEntries(
        Object.entries(cpu()).map(([k, sec]) => [k === 'node' ? 'bench' : k, round((sec * 1e6) / samples.length, 0)]),
      );
      runs.push({
        run,
        requests: samples.length,
        inflight: `${opts.callers} callers`,
        seconds: round(seconds, 2),
        perSec: Math.round(samples.length / seconds),
        latencyMs: summarize(samples),
        granted,
        cpuUsPerRequest,
      });
    };
    if (opts.callers > 0) {
      await callers(`${opts.callers} callers, ${opts.think} ms provider call between reservations`, (userId) =>
        once(userId),
      );
      // The same callers as the gateway reserves by default (BUDGET_LEASES): from a lease of the user's
      // budget it holds, taken from this service over HTTP (its first call per user waits for it), with
      // the call settled at its actual cost when it ends.
      const client = new MeteringHttpClient(() => url, TOKEN, 'agent-gateway', 3000);
      const leases = new BudgetLeases(
        {
          grant: (body) => client.request('POST', '/internal/v1/leases', body),
          close: async (id, usedUsd) =>
            void (await client.request('POST', `/internal/v1/leases/${id}/close`, { usedUsd })),
          price: (provider, model) =>
            client.request('GET', `/internal/v1/prices/current?provider=${provider}&model=${model}`),
        },
        { calls: 50, useSeconds: 30, retrySeconds: 5, priceSeconds: 60 },
        { warn: (o: unknown, m: string) => console.error(m, o) } as never,
      );
      await callers(`${opts.callers} callers, as the gateway reserves: from budget leases`, async (userId) => {
        const t0 = performance.now();
        const held = await leases.reserve({
          requestId: randomUUID(),
          userId,
          provider: 'openai',
          model: 'gpt-4o',
          inputTokens: 1000,
          maxOutputTokens: 500,
        });
        const ms = performance.now() - t0;
        const id = held?.reservationId;
        return {
          ms,
          ok: id !== undefined,
          after: () => id && leases.settle(id, { inputTokens: 1000, outputTokens: 200, cachedInputTokens: 0 }),
        };
      });
      await leases.stop();
    }
    close();
  } finally {
    await stopService(child);
  }
  return runs;
}

async function main(): Promise<void> {
  const brokers = await requireKafka();
  const pgdb = await requirePostgresDatabase('bench_metering');
  const result: { [k: string]: unknown } = { benchmark: 'metering', machine: machineInfo(REPO), config: opts };
  try {
    if (!opts['skip-ingest']) {
      console.log('ingestion:');
      const r = await ingest(pgdb.url, brokers, Date.now() + opts.timeout * 1000);
      result.ingest = r;
      console.log(
        formatTable(
          ['path', 'records', 'seconds', 'records/s', 'vs COPY'],
          [
            [
              'Kafka -> usage-metering -> Postgres (idempotent, priced, aggregated)',
              r.records,
              r.seconds,
              r.recordsPerSec,
              `${round(r.ratioToCopy * 100, 1)}%`,
            ],
            [
              '... and their UsagePriced events published (outbox drained)',
              r.records,
              r.publishedSeconds,
              r.publishedPerSec,
              `${round((r.publishedPerSec / r.copyRecordsPerSec) * 100, 1)}%`,
            ],
            [
              'raw COPY of the same rows into a table like api_usage',
              r.records,
              r.copySeconds,
              r.copyRecordsPerSec,
              '100%',
            ],
          ],
        ),
      );
      console.log(
        `  CPU µs per record: ${JSON.stringify(r.cpuSecondsPerRecordUs)}; verified ${JSON.stringify(r.verified)}`,
      );
    }
    if (!opts['skip-ingest'] && !opts['skip-reserve'] && opts['mixed-rate'] > 0) {
      result.mixed = [];
      for (const split of [false, true]) {
        console.log(
          `ingestion with reservations at ${opts['mixed-rate']}/s for the same users, ` +
            (split ? 'sent to a second process that does not ingest:' : 'sent to the ingesting process:'),
        );
        const pg3 = await requirePostgresDatabase('bench_metering_mixed');
        try {
          const m = await ingest(pg3.url, brokers, Date.now() + opts.timeout * 1000, opts['mixed-rate'], split);
          (result.mixed as unknown[]).push(m);
          const l = m.reservations!.latencyMs;
          console.log(
            `  ingested ${m.recordsPerSec} records/s (${m.publishedPerSec}/s with UsagePriced published); ` +
              `${m.reservations!.requests} reservations meanwhile, p50 ${round(l.p50, 2)} ms, p90 ${round(l.p90, 2)} ms, ` +
              `p99 ${round(l.p99, 2)} ms, max ${round(l.max, 1)} ms, ${m.reservations!.granted} granted`,
          );
        } finally {
          await pg3.drop();
        }
      }
    }
    if (!opts['skip-reserve']) {
      console.log('reservations:');
      const pg2 = await requirePostgresDatabase('bench_metering_res');
      try {
        const runs = await reservations(pg2.url, brokers, Date.now() + opts.timeout * 1000);
        result.reservations = runs;
        console.log(
          formatTable(
            ['run', 'requests', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'granted'],
            runs.map((r) => [
              r.run,
              r.requests,
              r.perSec,
              round(r.latencyMs.p50, 2),
              round(r.latencyMs.p90, 2),
              round(r.latencyMs.p99, 2),
              round(r.latencyMs.max, 1),
              r.granted,
            ]),
          ),
        );
      } finally {
        await pg2.drop();
      }
    }
  } finally {
    await pgdb.drop();
  }
  console.log(`results: ${writeResults(REPO, opts.out, result)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
