/**
 * bench/gateway — the overhead HishamOS's gateway adds to an LLM call, and its requests per second,
 * against a fake upstream with a fixed latency, next to Portkey's open-source gateway on the same
 * upstream in the same run.
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/gateway/run.ts [--duration 10] [--concurrency 100,500]
 *
 * Processes (all on this machine, loopback only):
 *   upstream   the fake provider (libs/providers FakeProviderServer): OpenAI wire format, SSE, usage,
 *              a fixed --latency ms before each answer (streams: before the first chunk).
 *   hishamos   the real agent-gateway (services/agent-gateway/src/main.ts) in distributed mode on
 *              Postgres + Kafka, with everything on: API-key authentication, the agent permission
 *              check (model agent/coding applies the agent's system prompt), a budget reservation at
 *              usage-metering per call (a real usage-metering process, HTTP + Postgres), the
 *              execution row + UsageRecorded written through the outbox (Kafka -> metering settles the
 *              reservation), Prometheus metrics.
 *   portkey    @portkey-ai/gateway's own node start script (build/start-server.js), provider openai
 *              with x-portkey-custom-host pointing at the upstream.
 *   proxy      a pass-through node:http proxy (null-proxy.ts): the floor any gateway adds here.
 *   direct     no gateway: the client calls the upstream itself (the baseline).
 *
 * Load: a closed loop of C concurrent clients (keep-alive connections), each sending its next request
 * when the last one finished, for --warmup s (not measured) then --duration s. Latency = request sent
 * -> last byte received (streams: the final [DONE]); overhead = a gateway's latency minus the direct
 * baseline's at the same percentile, concurrency and mode.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { InternalHttpClient } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import {
  formatTable,
  machineInfo,
  measureComponentCpu,
  measureCpu,
  nowMs,
  parseArgs,
  round,
  summarize,
  until,
  withTimeout,
  writeResults,
  type Summary,
} from '../lib';

const REPO = join(__dirname, '..', '..');
const USAGE = `usage: node -r @swc-node/register bench/gateway/run.ts [options]
  --duration S       measured seconds per scenario (default 10)
  --warmup S         unmeasured seconds before each scenario (default 3)
  --concurrency LIST concurrent clients, comma-separated (default 1,100,500)
  --modes LIST       json,stream (default both)
  --targets LIST     direct,hishamos,portkey,proxy (default all)
  --latency MS       the upstream's fixed latency (default 50)
  --per-call-budget  BUDGET_LEASES=false: every call reserves its budget at usage-metering over HTTP
  --out NAME         results file bench/results/NAME.json (default gateway)`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    duration: 10,
    warmup: 3,
    concurrency: '1,100,500',
    modes: 'json,stream',
    targets: 'direct,proxy,hishamos,portkey',
    latency: 50,
    'per-call-budget': false,
    out: 'gateway',
  },
  USAGE,
);

type Target = 'direct' | 'proxy' | 'hishamos' | 'portkey';
type Mode = 'json' | 'stream';
const UPSTREAM_KEY = 'sk-bench-upstream-0123456789';
const ADMIN_KEY = `hos_benchadm_${'Q1w2E3r4'.repeat(5)}`;
const PROMPT = 'Write three sentences about why an AI gateway should add almost no latency.';

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  name: string;
  child: ChildProcess;
  url: string;
  match: (comm: string, cmdline: string) => boolean;
}

const children: ChildProcess[] = [];

function forkReporting<T>(
  name: string,
  script: string,
  args: string[],
  execArgv: string[],
): Promise<{ child: ChildProcess; msg: T }> {
  const child = fork(script, args, {
    execArgv,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return withTimeout(
    new Promise((resolve, reject) => {
      child.once('message', (msg) => resolve({ child, msg: msg as T }));
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${err}`)));
    }),
    60_000,
    `${name} starting`,
  );
}

/** A HishamOS service in its own process (distributed mode); resolves with its URL from its start log. */
function startService(name: 'agent-gateway' | 'usage-metering', env: Record<string, string>): Promise<Proc> {
  const main = join(REPO, 'services', name, 'src', 'main.ts');
  const child = spawn(process.execPath, ['-r', '@swc-node/register', main], {
    cwd: REPO,
    env: {
      ...process.env,
      SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'),
      // e.g. BENCH_GATEWAY_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway.
      ...(name === 'agent-gateway' && process.env.BENCH_GATEWAY_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS }
        : {}),
      ...(name === 'usage-metering' && process.env.BENCH_METERING_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BENCH_METERING_NODE_OPTIONS }
        : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let tail = '';
  let buffer = '';
  return withTimeout(
    new Promise<Proc>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        buffer += d.toString();
        tail = (tail + d.toString()).slice(-6000);
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.includes('"service started"')) {
            const url = (JSON.parse(line) as { url: string }).url;
            resolve({ name, child, url, match: (_c, cmd) => cmd.includes(`services/${name}/src/main.ts`) });
          }
        }
      });
      child.stderr!.on('data', (d: Buffer) => {
        tail = (tail + d.toString()).slice(-6000);
        if (process.env.BENCH_SHOW_STDERR) process.stderr.write(d);
      });
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}):\n${tail}`)));
    }),
    180_000,
    `${name} starting`,
  );
}

// ---------------------------------------------------------------------------------------------
// Load

interface TargetSpec {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  body: (stream: boolean) => string;
}

interface RunResult {
  target: Target;
  mode: Mode;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  latencyMs: Summary;
  ttftMs?: Summary;
  /** Mean of hishamos_gateway_overhead_seconds over the run, as the gateway measured itself (hishamos only). */
  selfReportedOverheadMeanMs?: number;
  overheadP50Ms?: number;
  overheadP99Ms?: number;
  cpu: { machinePct?: number; secondsByComponent: Record<string, number>; usPerRequest: Record<string, number> };
  firstError?: string;
}

function once(
  spec: TargetSpec,
  agent: Agent,
  stream: boolean,
): Promise<{ ms: number; ttft?: number; ok: boolean; error?: string }> {
  const body = spec.body(stream);
  return new Promise((resolve) => {
    const t0 = nowMs();
    let ttft: number | undefined;
    const req = httpRequest(
      {
        host: spec.host,
        port: spec.port,
        path: spec.path,
        method: 'POST',
        agent,
        headers: { ...spec.headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let tail = '';
        res.on('data', (d: Buffer) => {
          if (ttft === undefined) ttft = nowMs() - t0;
          tail = (tail + d.toString()).slice(-200);
        });
        res.on('end', () => {
          const ms = nowMs() - t0;
          const ok = res.statusCode === 200 && (!stream || tail.includes('[DONE]'));
          resolve({ ms, ttft, ok, error: ok ? undefined : `HTTP ${res.statusCode}: ${tail.slice(-160)}` });
        });
        res.on('error', (e) => resolve({ ms: nowMs() - t0, ok: false, error: e.message }));
      },
    );
    req.on('error', (e) => resolve({ ms: nowMs() - t0, ok: false, error: e.message }));
    req.end(body);
  });
}

async function load(spec: TargetSpec, concurrency: number, stream: boolean, seconds: number, record: boolean) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies: number[] = [];
  const ttfts: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const end = nowMs() + seconds * 1000;
  const started = nowMs();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nowMs() < end) {
        const r = await once(spec, agent, stream);
        if (!record) continue;
        if (!r.ok) {
          errors++;
          firstError ??= r.error;
          continue;
        }
        latencies.push(r.ms);
        if (r.ttft !== undefined) ttfts.push(r.ttft);
      }
    }),
  );
  const elapsed = (nowMs() - started) / 1000;
  agent.destroy();
  return { latencies, ttfts, errors, firstError, elapsed };
}

async function scrapeOverhead(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('hishamos_gateway_overhead_seconds_')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('hishamos_gateway_overhead_seconds_sum')) sum += value;
    else if (line.startsWith('hishamos_gateway_overhead_seconds_count')) count += value;
  }
  return { sum, count };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const machine = machineInfo(REPO);
  const concurrencies = String(opts.concurrency).split(',').map(Number);
  const modes = String(opts.modes).split(',') as Mode[];
  const targets = String(opts.targets).split(',') as Target[];
  const brokers = await requireKafka();
  const pg = await requirePostgresDatabase('bench_gateway');
  const prefix = `b${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-bench-gw-'));
  const serviceToken = randomBytes(32).toString('base64url');
  const procs: Proc[] = [];
  try {
    const admin = new Client({ connectionString: pg.url });
    await admin.connect();
    await admin.query('CREATE SCHEMA IF NOT EXISTS agent_gateway; CREATE SCHEMA IF NOT EXISTS usage_metering');
    await admin.end();

    const upstream = await forkReporting<{ url: string }>(
      'upstream',
      join(__dirname, 'upstream.ts'),
      [String(opts.latency), UPSTREAM_KEY],
      ['-r', '@swc-node/register'],
    );
    const upstreamUrl = new URL(upstream.msg.url);
    procs.push({
      name: 'upstream',
      child: upstream.child,
      url: upstream.msg.url,
      match: (_c, cmd) => cmd.includes('bench/gateway/upstream.ts'),
    });

    const common = {
      HISHAMOS_MODE: 'distributed',
      DATABASE_URL: pg.url,
      DATABASE_POOL_SIZE: '20',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '2',
      SERVICE_TOKEN: serviceToken,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      HISHAMOS_DATA_DIR: dataDir,
    };
    let hishamos: Proc | undefined;
    let memberKey = '';
    if (targets.includes('hishamos')) {
      const metering = await startService('usage-metering', common);
      procs.push(metering);
      hishamos = await startService('agent-gateway', {
        ...common,
        METERING_URL: metering.url,
        HISHAMOS_BOOTSTRAP_API_KEY: ADMIN_KEY,
        OPENAI_API_KEY: UPSTREAM_KEY,
        OPENAI_BASE_URL: `${upstream.msg.url}/v1`,
        BUDGET_LEASES: opts['per-call-budget'] ? 'false' : 'true',
      });
      procs.push(hishamos);
      const api = async (path: string, body: unknown) => {
        const res = await fetch(`${hishamos!.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const json = (await res.json()) as Record<string, unknown>;
        if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
      const user = await api('/v1/users', { email: 'bench@example.com', name: 'Bench member', roles: ['member'] });
      memberKey = (await api('/v1/api-keys', { name: 'bench', userId: user.id })).key as string;
      // A daily hard limit far above what the run spends: the reservation path checks it on every call.
      const meteringClient = new InternalHttpClient({ baseUrl: metering.url, serviceToken, caller: 'agent-gateway' });
      await meteringClient
        .request('PUT', '/v1/budgets', {
          body: { scope: 'user', scopeId: user.id, period: 'day', hardUsd: '1000000' },
          onBehalfOf: { kind: 'user', subject: 'bench-admin', roles: ['admin'], via: 'api_key' },
        })
        .catch((e: Error) =>
          console.warn(`could not set the bench user's budget (reservations still run): ${e.message}`),
        );
    }
    let portkeyPort = 0;
    if (targets.includes('portkey')) {
      const pk = await forkReporting<{ port: number }>('portkey', join(__dirname, 'portkey.mjs'), [], []);
      portkeyPort = pk.msg.port;
      procs.push({
        name: 'portkey',
        child: pk.child,
        url: `http://127.0.0.1:${portkeyPort}`,
        match: (_c, cmd) => cmd.includes('bench/gateway/portkey.mjs'),
      });
    }

    let proxyPort = 0;
    if (targets.includes('proxy')) {
      const px = await forkReporting<{ port: number }>(
        'proxy',
        join(__dirname, 'null-proxy.ts'),
        [upstream.msg.url],
        ['-r', '@swc-node/register'],
      );
      proxyPort = px.msg.port;
      procs.push({
        name: 'proxy',
        child: px.child,
        url: `http://127.0.0.1:${proxyPort}`,
        match: (_c, cmd) => cmd.includes('bench/gateway/null-proxy.ts'),
      });
    }

    const message = (model: string) => (stream: boolean) =>
      JSON.stringify({
        model,
        messages: [{ role: 'user', content: PROMPT }],
        max_tokens: 64,
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      });
    const specs: Record<Target, TargetSpec> = {
      direct: {
        host: '127.0.0.1',
        port: Number(upstreamUrl.port),
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${UPSTREAM_KEY}`, 'content-type': 'application/json' },
        body: message('gpt-5'),
      },
      proxy: {
        host: '127.0.0.1',
        port: proxyPort,
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${UPSTREAM_KEY}`, 'content-type': 'application/json' },
        body: message('gpt-5'),
      },
      hishamos: {
        host: '127.0.0.1',
        port: hishamos ? Number(new URL(hishamos.url).port) : 0,
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${memberKey}`, 'content-type': 'application/json' },
        body: message('agent/coding'),
      },
      portkey: {
        host: '127.0.0.1',
        port: portkeyPort,
        path: '/v1/chat/completions',
        headers: {
          authorization: `Bearer ${UPSTREAM_KEY}`,
          'content-type': 'application/json',
          'x-portkey-provider': 'openai',
          'x-portkey-custom-host': `${upstream.msg.url}/v1`,
        },
        body: message('gpt-5'),
      },
    };

    // Every target must answer correctly before anything is measured.
    for (const t of targets)
      for (const stream of [false, true]) {
        const r = await once(specs[t], new Agent(), stream);
        if (!r.ok) throw new Error(`${t} (${stream ? 'stream' : 'json'}) does not answer: ${r.error}`);
      }

    const components = Object.fromEntries(procs.map((p) => [p.name, p.match]));
    components.postgres = (comm) => comm === 'postgres';
    components.kafka = (_c, cmd) => cmd.includes('kafka.Kafka');
    console.log(
      `bench/gateway: upstream latency ${opts.latency} ms, ${opts.warmup} s warm-up + ${opts.duration} s per scenario, concurrency ${concurrencies.join('/')}, ${machine.cores} cores (${machine.cpuModel})`,
    );

    const results: RunResult[] = [];
    for (const concurrency of concurrencies)
      for (const mode of modes)
        for (const target of targets) {
          const stream = mode === 'stream';
          await load(specs[target], concurrency, stream, opts.warmup, false);
          const before = target === 'hishamos' ? await scrapeOverhead(hishamos!.url) : undefined;
          const machineCpu = measureCpu();
          const cpu = measureComponentCpu(components);
          const r = await load(specs[target], concurrency, stream, opts.duration, true);
          const used = cpu();
          const m = machineCpu();
          const after = target === 'hishamos' ? await scrapeOverhead(hishamos!.url) : undefined;
          const n = r.latencies.length;
          const usPerRequest: Record<string, number> = {};
          for (const [k, s] of Object.entries(used)) usPerRequest[k] = n ? round((s * 1e6) / n, 0) : NaN;
          const result: RunResult = {
            target,
            mode,
            concurrency,
            requests: n,
            errors: r.errors,
            seconds: r.elapsed,
            rps: n / r.elapsed,
            latencyMs: summarize(r.latencies),
            ttftMs: stream ? summarize(r.ttfts) : undefined,
            cpu: { machinePct: m.machinePct, secondsByComponent: used, usPerRequest },
            firstError: r.firstError,
          };
          if (before && after && after.count > before.count)
            result.selfReportedOverheadMeanMs = ((after.sum - before.sum) / (after.count - before.count)) * 1000;
          results.push(result);
          console.log(
            `${target.padEnd(8)} ${mode.padEnd(6)} c=${String(concurrency).padEnd(4)} ${Math.round(result.rps)} req/s, p50 ${round(result.latencyMs.p50, 2)} ms, p99 ${round(result.latencyMs.p99, 2)} ms, errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}`,
          );
        }

    for (const r of results) {
      const base = results.find((b) => b.target === 'direct' && b.mode === r.mode && b.concurrency === r.concurrency);
      if (!base || r.target === 'direct') continue;
      r.overheadP50Ms = r.latencyMs.p50 - base.latencyMs.p50;
      r.overheadP99Ms = r.latencyMs.p99 - base.latencyMs.p99;
    }

    // Metering really ran: every successful HishamOS call left an execution row, and usage-metering
    // ingested its usage record (settling its reservation).
    let verified: Record<string, number> | undefined;
    if (hishamos) {
      const db = new Client({ connectionString: pg.url });
      await db.connect();
      try {
        const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0].n);
        const executions = await count(
          `SELECT count(*)::text AS n FROM agent_gateway.executions WHERE status = 'succeeded'`,
        );
        await until(
          async () => (await count(`SELECT count(*)::text AS n FROM agent_gateway.outbox`)) === 0,
          'the gateway outbox to drain',
          Date.now() + 120_000,
          200,
        ).catch(() => undefined);
        const usageTable = (
          await db.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = 'usage_metering' AND table_name IN ('usage_records', 'api_usage') LIMIT 1`,
          )
        ).rows[0]?.table_name;
        let ingested = NaN;
        const waitStarted = Date.now();
        if (usageTable)
          await until(
            async () =>
              (ingested = await count(`SELECT count(*)::text AS n FROM usage_metering.${usageTable}`)) >= executions,
            'usage-metering to ingest every usage record',
            Date.now() + 120_000,
            500,
          ).catch(() => undefined);
        verified = {
          executionsSucceeded: executions,
          outboxLeft: await count(`SELECT count(*)::text AS n FROM agent_gateway.outbox`),
          usageIngestedByMetering: ingested,
          secondsWaitedForMetering: Math.round((Date.now() - waitStarted) / 1000),
        };
        console.log(`verified: ${JSON.stringify(verified)}`);
      } finally {
        await db.end();
      }
    }

    console.log('');
    const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : round(v, 2));
    console.log(
      formatTable(
        [
          'target',
          'mode',
          'conc',
          'req/s',
          'p50 ms',
          'p99 ms',
          'overhead p50',
          'overhead p99',
          'self-reported mean',
          'TTFT p50',
          'errors',
        ],
        results.map((r) => [
          r.target,
          r.mode,
          r.concurrency,
          Math.round(r.rps),
          fmt(r.latencyMs.p50),
          fmt(r.latencyMs.p99),
          fmt(r.overheadP50Ms),
          fmt(r.overheadP99Ms),
          fmt(r.selfReportedOverheadMeanMs),
          fmt(r.ttftMs?.p50),
          r.errors,
        ]),
      ),
    );
    const ratios: { mode: Mode; concurrency: number; hishamosRps: number; portkeyRps: number; ratio: number }[] = [];
    for (const concurrency of concurrencies)
      for (const mode of modes) {
        const h = results.find((r) => r.target === 'hishamos' && r.mode === mode && r.concurrency === concurrency);
        const p = results.find((r) => r.target === 'portkey' && r.mode === mode && r.concurrency === concurrency);
        if (h && p) ratios.push({ mode, concurrency, hishamosRps: h.rps, portkeyRps: p.rps, ratio: h.rps / p.rps });
      }
    if (ratios.length) {
      console.log('');
      console.log(
        formatTable(
          ['mode', 'conc', 'HishamOS req/s', 'Portkey req/s', 'HishamOS / Portkey'],
          ratios.map((x) => [
            x.mode,
            x.concurrency,
            Math.round(x.hishamosRps),
            Math.round(x.portkeyRps),
            `${round(x.ratio, 2)}x`,
          ]),
        ),
      );
    }
    const file = writeResults(REPO, String(opts.out), { machine, options: opts, results, ratios, verified });
    console.log(`\nresults: ${file}`);
    return 0;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await pg.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    const kafka = new Kafka({ clientId: 'bench-gateway-cleanup', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin
      .connect()
      .then(async () => {
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
        if (topics.length) await admin.deleteTopics({ topics });
      })
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
