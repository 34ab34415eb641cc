/**
 * bench/alerting — the alerting service as deployed (its own OS process, Postgres, Kafka) against 100
 * active rules:
 *   1. throughput: events evaluated per second (UsageRecorded events, every one evaluated against all 100
 *      rules: 90 event rules with predicates, 10 metric rules that record a sample and check their window);
 *   2. latency: from an event's publication (before the producer's send) to the first delivery attempt
 *      reaching the webhook peer (p50 / p99), with the same 100 rules active.
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/alerting/run.ts [--events 20000]
 *
 * See README.md for the set-up and how to read the figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { Topics, type PayloadInit } from '@hishamos/contracts';
import { buildMessage, createEventBus, type TransportEventBus } from '@hishamos/messaging';
import { provisionServiceRole } from '@hishamos/persistence';
import { serviceCredential, signIdentity, verifyServiceCredential } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import {
  formatTable,
  machineInfo,
  nowMs,
  parseArgs,
  round,
  summarize,
  until,
  writeResults,
  type Summary,
} from '../lib';

const REPO = join(__dirname, '..', '..');
const USAGE = `usage: node -r @swc-node/register bench/alerting/run.ts [options]
  --events N          events in the throughput phase (default 20000)
  --batch N           events per producer send in the throughput phase (default 500)
  --rules N           active rules on the event type (default 100; 90% event rules, 10% metric rules)
  --latency-events N  events in the latency phase, one at a time (default 300)
  --rate N            events per second in the latency phase (default 20)
  --warmup N          events first, not measured (default 1000)
  --timeout S         seconds each phase may take (default 300)
  --out NAME          results file bench/results/NAME.json (default alerting)`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    events: 20000,
    batch: 500,
    rules: 100,
    'latency-events': 300,
    rate: 20,
    warmup: 1000,
    timeout: 300,
    out: 'alerting',
  },
  USAGE,
);

const TOKEN = randomBytes(32).toString('base64url');
const PREFIX = `bench${Date.now().toString(36)}${randomBytes(2).toString('hex')}-alerting`;
// The platform namespaces consumer groups by the topic prefix (ServiceContext.groupOf).
const GROUP = `${PREFIX}.hishamos.alerting.${Topics.UsageRecorded}`;
const MODELS = 200;
const AGENTS = ['coding', 'qa', 'devops', 'security', 'finance'];

function listen(server: ReturnType<typeof createServer>): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

/** The webhook peer: records when each alert's first attempt arrives (by the event's request_id). */
async function startSink() {
  const firstSeen = new Map<string, number>();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = nowMs();
      requests++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          alert: { fields: Record<string, string> };
        };
        const id = body.alert.fields.request_id;
        if (id && !firstSeen.has(id)) firstSeen.set(id, at);
      } catch {
        // not an alert: counted, ignored
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const url = await listen(server);
  return { url, firstSeen, requests: () => requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The secrets service's internal API, reduced to the one secret the bench's channel uses. */
async function startSecrets() {
  const server = createServer((req, res) => {
    const auth = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!auth || verifyServiceCredential(TOKEN, auth) !== 'alerting') return res.writeHead(401).end();
    const path = new URL(req.url ?? '/', 'http://x').searchParams.get('path');
    if (path !== 'webhooks/bench') return res.writeHead(404).end('{"error":{"message":"not found"}}');
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ path, version: 1, value: 'whsec-bench' }));
  });
  const url = await listen(server);
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await listen(server);
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Starts the service as its own process and waits until /health/ready answers 200. */
async function spawnService(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', join(REPO, 'services/alerting/src/main.ts')], {
    cwd: REPO,
    env: { ...process.env, SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'), ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  let exited = false;
  proc.once('exit', () => (exited = true));
  await until(
    async () => {
      if (exited) throw new Error(`alerting exited:\n${err.slice(-3000)}`);
      return (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200;
    },
    'alerting ready',
    Date.now() + 90_000,
    200,
  );
  return { proc, url };
}

function usage(i: number, command = 'run'): PayloadInit<typeof Topics.UsageRecorded> {
  return {
    requestId: `req-${i}-${randomBytes(4).toString('hex')}`,
    userId: `user-${i % 50}`,
    agent: AGENTS[i % AGENTS.length],
    command,
    provider: `p-${i % 5}`,
    model: `model-${(i * 7919) % MODELS}`,
    usage: { inputTokens: BigInt((i * 37) % 1500), outputTokens: BigInt((i * 53) % 700) },
    currency: 'USD',
  };
}

/** The rules: event rules on model and tokens (about one event in nine matches one), metric rules sampling every event twice. */
function rules(n: number) {
  const metricCount = Math.round(n * 0.1);
  const out: Record<string, unknown>[] = [
    {
      name: 'latency_probe',
      kind: 'event',
      eventType: 'usage',
      condition: 'command == "latency-probe"',
      entity: 'request_id',
      severity: 'warning',
      channels: ['bench-hook'],
      cooldownMinutes: 0,
      messageTemplate: 'probe {request_id} by {user_id}',
    },
  ];
  for (let i = 0; i < n - metricCount - 1; i++)
    out.push({
      name: `usage_rule_${i}`,
      kind: 'event',
      eventType: 'usage',
      condition: `model == "model-${i}" and total_tokens > 1500 and command != "latency-probe"`,
      entity: 'agent',
      severity: i % 10 === 0 ? 'error' : 'warning',
      channels: ['bench-hook'],
      cooldownMinutes: 5,
      messageTemplate: 'model {model} used {total_tokens} tokens for {agent}',
    });
  for (let i = 0; i < metricCount; i++)
    out.push({
      name: `usage_metric_${i}`,
      kind: 'metric',
      eventType: 'usage',
      condition: `provider == "p-${i % 5}"`,
      entity: 'agent',
      metric: {
        aggregate: 'avg',
        value: 'total_tokens',
        window: '5m',
        comparator: '>',
        threshold: 1e9,
        as: 'avg_tokens',
      },
      severity: 'info',
      channels: ['bench-hook'],
      cooldownMinutes: 10,
      messageTemplate: 'average {avg_tokens} tokens for {entity}',
    });
  return out;
}

async function main(): Promise<void> {
  const machine = machineInfo(REPO);
  const brokers = await requireKafka();
  const pg = await requirePostgresDatabase('bench_alerting');
  const sink = await startSink();
  const secrets = await startSecrets();
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  const bus = createEventBus(
    { transport: 'kafka', brokers, clientId: `${PREFIX}-producer`, topicPrefix: PREFIX },
    'bench/producer',
  ) as TransportEventBus;
  let service: ChildProcess | undefined;
  try {
    const dbUrl = await provisionServiceRole(pg.url, 'alerting', randomBytes(12).toString('hex'));
    const svc = await spawnService({
      NODE_OPTIONS: process.env.BENCH_CHILD_NODE_OPTIONS ?? '',
      HISHAMOS_MODE: 'distributed',
      LOG_LEVEL: 'warn',
      DATABASE_URL: dbUrl,
      DATABASE_POOL_SIZE: '20',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: PREFIX,
      SERVICE_TOKEN: TOKEN,
      SECRETS_URL: secrets.url,
      ALERTING_SEED_DEFAULTS: 'false',
      ALERTING_DB_POOL_SAMPLE_MS: '0',
    });
    service = svc.proc;
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${serviceCredential(TOKEN, 'agent-gateway')}`,
      ...signIdentity(TOKEN, { kind: 'user', subject: 'bench', roles: ['admin'], via: 'api_key' }),
    };
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${svc.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`POST ${path} -> ${res.status}: ${await res.text()}`);
    };
    await post('/v1/channels', {
      name: 'bench-hook',
      type: 'webhook',
      config: { url: `${sink.url}/hook` },
      secretPath: 'webhooks/bench',
    });
    for (const r of rules(opts.rules)) await post('/v1/alert-rules', r);
    await bus.start([Topics.UsageRecorded]);

    const processed = async () =>
      Number(
        (
          await admin.query<{ n: string }>(`SELECT count(*) AS n FROM alerting.processed_events WHERE consumer = $1`, [
            GROUP,
          ])
        ).rows[0].n,
      );
    const sendBatch = async (from: number, to: number) => {
      const messages = [];
      for (let i = from; i < to; i++)
        messages.push(buildMessage('bench/producer', Topics.UsageRecorded, usage(i), { key: `user-${i % 50}` }));
      await bus.transport.send(messages);
    };
    const deadline = () => Date.now() + opts.timeout * 1000;

    // Warm-up (JIT, connections, rule cache, consumer group assignment).
    let total = 0;
    for (let i = 0; i < opts.warmup; i += opts.batch) await sendBatch(i, Math.min(opts.warmup, i + opts.batch));
    total += opts.warmup;
    await until(async () => (await processed()) >= total, 'warm-up', deadline(), 50);

    // 1. Throughput.
    const alertsBefore = Number((await admin.query(`SELECT count(*) AS n FROM alerting.alerts`)).rows[0].n);
    const t0 = nowMs();
    for (let i = 0; i < opts.events; i += opts.batch)
      await sendBatch(total + i, total + Math.min(opts.events, i + opts.batch));
    const producedSec = (nowMs() - t0) / 1000;
    total += opts.events;
    await until(async () => (await processed()) >= total, `consuming ${opts.events} events`, deadline(), 20);
    const seconds = (nowMs() - t0) / 1000;
    const eventsPerSec = opts.events / seconds;
    const stats = (
      await admin.query<{ alerts: string; suppressed: string; samples: string }>(
        `SELECT (SELECT count(*) FROM alerting.alerts) AS alerts,
                (SELECT coalesce(sum(suppressed), 0) FROM alerting.alert_states) AS suppressed,
                (SELECT count(*) FROM alerting.metric_samples) AS samples`,
      )
    ).rows[0];
    await until(
      async () =>
        Number(
          (
            await admin.query(
              `SELECT count(*) AS n FROM alerting.deliveries WHERE status IN ('pending', 'sending', 'retrying')`,
            )
          ).rows[0].n,
        ) === 0,
      'deliveries drained',
      deadline(),
      50,
    );

    // 2. Latency: publication -> first delivery attempt at the peer.
    const sentAt = new Map<string, number>();
    const gap = 1000 / opts.rate;
    const l0 = nowMs();
    for (let i = 0; i < opts['latency-events']; i++) {
      const payload = usage(total + i, 'latency-probe');
      const wait = l0 + i * gap - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(payload.requestId!, nowMs());
      await bus.publish(Topics.UsageRecorded, payload, { key: payload.userId! });
    }
    await until(
      () => [...sentAt.keys()].every((id) => sink.firstSeen.has(id)),
      'latency probes delivered',
      deadline(),
      20,
    );
    const latencies = [...sentAt.entries()].map(([id, at]) => sink.firstSeen.get(id)! - at);
    const latency: Summary = summarize(latencies);

    const result = {
      machine,
      options: opts,
      rules: {
        total: opts.rules,
        event: opts.rules - Math.round(opts.rules * 0.1),
        metric: Math.round(opts.rules * 0.1),
      },
      throughput: {
        events: opts.events,
        seconds: round(seconds, 2),
        producedSec: round(producedSec, 2),
        eventsPerSec: round(eventsPerSec, 0),
        ruleEvaluationsPerSec: round(eventsPerSec * opts.rules, 0),
        notificationsDecided: Number(stats.alerts) - alertsBefore,
        suppressedByCooldown: Number(stats.suppressed),
        metricSamples: Number(stats.samples),
      },
      latencyMs: {
        events: latencies.length,
        ratePerSec: opts.rate,
        p50: round(latency.p50, 1),
        p90: round(latency.p90, 1),
        p99: round(latency.p99, 1),
        max: round(latency.max, 1),
        mean: round(latency.mean, 1),
      },
    };
    console.log(
      formatTable(
        ['measure', 'value'],
        [
          ['active rules (event / metric)', `${result.rules.total} (${result.rules.event} / ${result.rules.metric})`],
          ['events evaluated per second', result.throughput.eventsPerSec],
          ['rule evaluations per second', result.throughput.ruleEvaluationsPerSec],
          [`time for ${opts.events} events (s)`, result.throughput.seconds],
          [
            'notifications decided / suppressed by cooldown',
            `${result.throughput.notificationsDecided} / ${result.throughput.suppressedByCooldown}`,
          ],
          ['metric samples written', result.throughput.metricSamples],
          [`publish -> first delivery attempt p50 (ms, ${opts.rate}/s)`, result.latencyMs.p50],
          ['publish -> first delivery attempt p99 (ms)', result.latencyMs.p99],
          ['publish -> first delivery attempt max (ms)', result.latencyMs.max],
        ],
      ),
    );
    console.log(
      `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverage1m}`,
    );
    console.log(`results: ${writeResults(REPO, opts.out, result)}`);
  } finally {
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service!.once('exit', r));
      service.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15000))]);
      if (service.exitCode === null) service.kill('SIGKILL');
    }
    await bus.stop().catch(() => undefined);
    await admin.end().catch(() => undefined);
    await sink.close();
    await secrets.close();
    await pg.drop().catch(() => undefined);
    const kadmin = new Kafka({ clientId: `${PREFIX}-cleanup`, brokers, logLevel: logLevel.NOTHING }).admin();
    await kadmin.connect();
    const mine = (await kadmin.listTopics()).filter((t) => t.startsWith(`${PREFIX}.`));
    if (mine.length) await kadmin.deleteTopics({ topics: mine, timeout: 10000 }).catch(() => undefined);
    await kadmin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`bench/alerting failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
