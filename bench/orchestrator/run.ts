/**
 * bench/orchestrator — the orchestrator end to end over real Kafka and Postgres, with the bus benchmark's raw
 * kafkajs figure measured in the same run as the ceiling.
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/orchestrator/run.ts [--tasks 2000] [--workflows 100]
 *
 * Phases (see README.md):
 *   raw       plain kafkajs, exactly as bench/bus's raw path: idempotent producer sendBatch of 500 -> consumer
 *             group eachBatch + commitOffsets. Events/second: the most any Kafka consumer in Node gets here.
 *   tasks     N TaskRequested events (one command each) -> the orchestrator (its own OS process, started like
 *             production: services/orchestrator/src/main.ts) -> ExecutionRequested -> an offline executor
 *             (answers at once with an offline-shaped result) -> ExecutionCompleted -> run completed.
 *             Tasks/second = N / (first TaskRequested sent -> last COMPLETED workflow event received).
 *   chain     W runs of a K-step sequential workflow started at once (loaded), then `solo` runs one after
 *             another (uncontended). The orchestrator's overhead per step = the time from the executor
 *             publishing step k's result to it receiving step k+1's request (consume the result, advance the
 *             run, schedule, dispatch, relay, one Kafka hop each way), with a breakdown from the orchestrator's
 *             own timestamps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import {
  decodeEvent,
  encodeEvent,
  ExecutionStatus,
  SERVICES,
  Topics,
  WorkflowEventKind,
  type PayloadInit,
  type Topic,
} from '@hishamos/contracts';
import { loadCatalog, type CommandSeed } from '@hishamos/catalog';
import { Database, provisionServiceRole } from '@hishamos/persistence';
import { requireKafka, requirePostgresDatabase } from '@hishamos/testing';
import {
  formatTable,
  INFRA_PROCESSES,
  machineInfo,
  measureComponentCpu,
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
  keyOf,
  newPrefix,
  payloadPad,
  postgresSettings,
  REPO,
  SENT_HEADER,
  taskPayload,
} from '../bus/fixture';

const USAGE = `usage: node -r @swc-node/register bench/orchestrator/run.ts [options]
  --tasks N          single-command tasks in the throughput phase (default 2000)
  --workflows N      runs of the chain workflow started at once in the loaded overhead phase (default 100)
  --solo N           runs of the chain workflow one after another (uncontended overhead; default 10)
  --steps K          steps of the chain workflow (default 6)
  --raw-events N     events of the raw kafkajs ceiling (default 20000, as bench/bus)
  --agent-limit N    every agent's max_concurrent_tasks, in a copy of seeds/ (default 1000, so the limits do not
                     throttle the measurement; 0 keeps the seeds' own 3-5 per agent)
  --per-agent N      MAX_CONCURRENT_TASKS_PER_AGENT (default 1000)
  --max-workflows N  MAX_CONCURRENT_WORKFLOWS (default 1000)
  --consumers N      ORCHESTRATOR_CONSUMER_CONCURRENCY: partitions each consumer handles at once (default 4)
  --partitions N     partitions of the topics (default 6)
  --executor-ms N    how long the offline executor takes per execution (default 0)
  --timeout S        seconds each phase may take (default 300)
  --profile DIR      write a V8 CPU profile of the orchestrator process to DIR (--cpu-prof)
  --out NAME         results file bench/results/NAME.json (default orchestrator)`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    tasks: 2000,
    workflows: 100,
    solo: 10,
    steps: 6,
    'raw-events': 20000,
    'agent-limit': 1000,
    'per-agent': 1000,
    'max-workflows': 1000,
    consumers: 4,
    partitions: 6,
    'executor-ms': 0,
    timeout: 300,
    profile: '',
    out: 'orchestrator',
  },
  USAGE,
);

const TOKEN = randomUUID() + randomUUID();
/**
 * This run's orchestrator process, by a marker argument on its command line (other orchestrator processes on the
 * machine, e.g. another test's, are not counted; main.ts ignores the argument).
 */
const INSTANCE_MARKER = `--bench-instance=${randomUUID().slice(0, 8)}`;
const ORCHESTRATOR_PROCESS = {
  orchestrator: (_comm: string, cmdline: string) =>
    cmdline.includes('services/orchestrator/src/main.ts') && cmdline.includes(INSTANCE_MARKER),
};

/** The chain workflow: K sequential steps over six agents, each fed the previous step's output. */
const CHAIN = [
  { agent: 'business-analyst', command: 'write_user_stories', input: 'feature' },
  { agent: 'qa', command: 'reproduce_bug', input: 'report' },
  { agent: 'security', command: 'phishing_analysis', input: 'email' },
  { agent: 'finance', command: 'process_invoice', input: 'invoice_text' },
  { agent: 'qa', command: 'boundary_analysis', input: 'input_specification' },
  { agent: 'business-analyst', command: 'write_acceptance_criteria', input: 'story' },
];
/** Agents the tasks phase spreads over (every agent has its own limit, so one agent would cap the figure). */
const TASK_COMMANDS = [
  { agent: 'business-analyst', command: 'write_user_stories', input: 'feature' },
  { agent: 'qa', command: 'reproduce_bug', input: 'report' },
  { agent: 'security', command: 'phishing_analysis', input: 'email' },
  { agent: 'finance', command: 'process_invoice', input: 'invoice_text' },
  { agent: 'code-reviewer', command: 'review_architecture_decision', input: 'adr' },
  { agent: 'customer-success', command: 'feature_request_triage', input: 'requests' },
  { agent: 'scrum-master', command: 'flow_metrics_analysis', input: 'work_item_data' },
];

function chainYaml(k: number): string {
  const lines = [
    'id: bench-chain',
    'name: Bench chain',
    'version: 1',
    `description: ${k} sequential steps, each fed the previous step's output (bench/orchestrator)`,
    'inputs:',
    '  type: object',
    '  required: [feature]',
    '  properties: { feature: { type: string, minLength: 1 } }',
    'steps:',
  ];
  for (let i = 0; i < k; i++) {
    const c = CHAIN[i % CHAIN.length];
    const value = i === 0 ? '${inputs.feature}' : `Previous step:\\n\${steps.s${i - 1}.output}`;
    lines.push(`  - id: s${i}`, `    agent: ${c.agent}`, `    command: ${c.command}`);
    lines.push(`    inputs: { ${c.input}: "${value}" }`);
    if (i > 0) lines.push(`    depends_on: [s${i - 1}]`);
  }
  lines.push('outputs:', `  last: "\${steps.s${k - 1}.output}"`, '');
  return lines.join('\n');
}

/** A copy of seeds/ with the chain workflow and, when asked, every agent's limit changed. */
function benchSeeds(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-orch-seeds-'));
  cpSync(join(REPO, 'seeds'), dir, { recursive: true });
  writeFileSync(join(dir, 'workflows', 'bench-chain.yaml'), chainYaml(opts.steps));
  if (opts['agent-limit'] > 0) {
    for (const f of readdirSync(join(dir, 'agents'))) {
      const p = join(dir, 'agents', f);
      writeFileSync(
        p,
        readFileSync(p, 'utf8').replace(/^max_concurrent_tasks: \d+$/m, `max_concurrent_tasks: ${opts['agent-limit']}`),
      );
    }
  }
  return dir;
}

interface RawResult {
  events: number;
  seconds: number;
  eventsPerSec: number;
  latencyMs: Summary;
}

/** bench/bus's raw path: the same producer and consumer settings, batch 500, payload 256 B, 64 keys. */
async function runRaw(brokers: string[], n: number): Promise<RawResult> {
  const prefix = newPrefix('raw');
  const topic = `${prefix}.${Topics.TaskRequested}`;
  const kafka = new Kafka({ clientId: 'bench-orch-raw', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `${prefix}-group`, allowAutoTopicCreation: false });
  const latencies = new Float64Array(n);
  const pad = payloadPad(256);
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
    const t0 = nowMs();
    for (let start = 0; start < n; start += 500) {
      const sent = String(nowMs());
      const messages = [];
      for (let i = start; i < Math.min(n, start + 500); i++) {
        const ev = encodeEvent(Topics.TaskRequested, taskPayload(i, pad), {
          key: keyOf(i),
          source: 'bench-raw',
          headers: { [SENT_HEADER]: sent },
        });
        messages.push({ key: ev.key, value: Buffer.from(ev.value), headers: ev.headers });
      }
      await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [{ topic, messages }] });
    }
    await withTimeout(done, opts.timeout * 1000, `raw kafkajs consuming ${n} events`);
    const seconds = (finishedAt - t0) / 1000;
    return { events: n, seconds, eventsPerSec: n / seconds, latencyMs: summarize(latencies) };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await deleteTopics(brokers, prefix).catch(() => undefined);
  }
}

interface ExecutionRecord {
  runId: string;
  stepId: string;
  agent: string;
  receivedAt: number;
  publishedAt?: number;
  deliveries: number;
}

/**
 * The offline executor: plain kafkajs, so it is never the bottleneck. Each idempotency key is executed once
 * (a redelivered request re-publishes the stored result); results carry the command's `## <title>` sections.
 */
class OfflineExecutor {
  readonly ledger = new Map<string, ExecutionRecord>();
  private readonly results = new Map<string, Uint8Array | Buffer>();
  private consumer?: Consumer;
  private producer?: Producer;

  constructor(
    private readonly kafka: Kafka,
    private readonly prefix: string,
    private readonly commands: (agent: string, command: string) => CommandSeed | undefined,
  ) {}

  private topic(t: Topic): string {
    return `${this.prefix}.${t}`;
  }

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    this.consumer = this.kafka.consumer({
      groupId: `${this.prefix}-executor`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 20,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic(Topics.ExecutionRequested)], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: opts.partitions,
      eachBatch: async ({ batch }) => {
        const at = nowMs();
        const out: { key: string; value: Buffer; headers: Record<string, string> }[] = [];
        const records: ExecutionRecord[] = [];
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          const ev = decodeEvent(Topics.ExecutionRequested, m.key?.toString() ?? '', m.value, headers);
          const req = ev.payload;
          const seen = this.ledger.get(req.idempotencyKey);
          if (seen) {
            seen.deliveries++;
            const stored = this.results.get(req.idempotencyKey);
            if (stored) out.push({ key: req.runId, value: Buffer.from(stored), headers: { ...this.headersFor() } });
            continue;
          }
          const record: ExecutionRecord = {
            runId: req.runId,
            stepId: req.stepId,
            agent: req.agent,
            receivedAt: at,
            deliveries: 1,
          };
          this.ledger.set(req.idempotencyKey, record);
          records.push(record);
          const result = this.result(req);
          const encoded = encodeEvent(Topics.ExecutionCompleted, result, {
            key: req.runId,
            source: 'bench-offline-executor',
          });
          this.results.set(req.idempotencyKey, encoded.value);
          out.push({ key: req.runId, value: Buffer.from(encoded.value), headers: encoded.headers });
        }
        if (opts['executor-ms'] > 0) await new Promise((r) => setTimeout(r, opts['executor-ms']));
        if (out.length > 0) {
          await this.producer!.sendBatch({
            acks: -1,
            compression: CompressionTypes.None,
            topicMessages: [{ topic: this.topic(Topics.ExecutionCompleted), messages: out }],
          });
        }
        const published = nowMs();
        for (const r of records) r.publishedAt = published;
        const last = batch.messages[batch.messages.length - 1];
        if (last)
          await this.consumer!.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
          ]);
      },
    });
  }

  private headersFor(): Record<string, string> {
    return encodeEvent(Topics.ExecutionCompleted, {}, { key: '', source: 'bench-offline-executor' }).headers;
  }

  private result(req: {
    executionId: string;
    idempotencyKey: string;
    runId: string;
    stepId: string;
    attempt: number;
    userId: string;
    agent: string;
    command: string;
  }): PayloadInit<typeof Topics.ExecutionCompleted> {
    const seed = this.commands(req.agent, req.command);
    const sections: Record<string, string> = {};
    const parts: string[] = [];
    for (const [key, s] of Object.entries(seed?.output_schema.properties ?? {})) {
      sections[key] = `Offline ${key} for ${req.stepId}.`;
      parts.push(`## ${s.title}\n\n${sections[key]}`);
    }
    return {
      executionId: req.executionId,
      idempotencyKey: req.idempotencyKey,
      runId: req.runId,
      stepId: req.stepId,
      attempt: req.attempt,
      userId: req.userId,
      agent: req.agent,
      command: req.command,
      status: ExecutionStatus.SUCCEEDED,
      output: parts.join('\n\n'),
      sections,
      provider: 'offline',
      model: 'offline',
      offline: true,
      usage: { inputTokens: 200n, outputTokens: 120n },
    };
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}

/** Every run's terminal workflow event, by run id and by task id, with when it arrived. */
class RunWatcher {
  readonly finished = new Map<
    string,
    { status: 'completed' | 'failed' | 'cancelled'; at: number; taskId: string; error: string }
  >();
  private consumer?: Consumer;

  constructor(
    private readonly kafka: Kafka,
    private readonly prefix: string,
  ) {}

  async start(): Promise<void> {
    this.consumer = this.kafka.consumer({
      groupId: `${this.prefix}-watcher`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 20,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [`${this.prefix}.${Topics.WorkflowProgressed}`], fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: opts.partitions,
      eachBatch: async ({ batch }) => {
        const at = nowMs();
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          const p = decodeEvent(Topics.WorkflowProgressed, m.key?.toString() ?? '', m.value, headers).payload;
          const status =
            p.kind === WorkflowEventKind.COMPLETED
              ? 'completed'
              : p.kind === WorkflowEventKind.FAILED
                ? 'failed'
                : p.kind === WorkflowEventKind.CANCELLED
                  ? 'cancelled'
                  : undefined;
          if (status && !this.finished.has(p.runId))
            this.finished.set(p.runId, { status, at, taskId: p.taskId, error: p.error });
        }
      },
    });
  }

  done(prefix: string): number {
    let n = 0;
    for (const f of this.finished.values()) if (f.taskId.startsWith(prefix)) n++;
    return n;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

function startOrchestrator(env: Record<string, string>): Promise<ChildProcess> {
  const profile = opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${opts.profile}`] : [];
  const child = spawn(
    process.execPath,
    [...profile, '-r', '@swc-node/register', join(REPO, 'services/orchestrator/src/main.ts'), INSTANCE_MARKER],
    {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += String(d);
      if (buf.includes('"msg":"service started"')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`orchestrator exited ${code}: ${err.slice(-2000)}${buf.slice(-2000)}`)),
    );
    setTimeout(
      () => reject(new Error(`orchestrator did not start within 120 s: ${err.slice(-2000)}${buf.slice(-2000)}`)),
      120000,
    ).unref();
  });
}

async function stopOrchestrator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await withTimeout(exited, 20000, 'orchestrator shutdown').catch(() => child.kill('SIGKILL'));
}

async function main(): Promise<number> {
  const brokers = await requireKafka();
  const pg = await requirePostgresDatabase('bench_orch');
  const machine = machineInfo(REPO);
  const settings = await postgresSettings(pg.url);
  const seedsDir = benchSeeds();
  const catalog = loadCatalog(seedsDir);
  const commandOf = (a: string, c: string) => catalog.commands[a]?.find((x) => x.name === c);
  const prefix = newPrefix('orch');
  const kafka = new Kafka({ clientId: 'bench-orchestrator', brokers, logLevel: logLevel.NOTHING });
  let child: ChildProcess | undefined;
  const executor = new OfflineExecutor(kafka, prefix, commandOf);
  const watcher = new RunWatcher(kafka, prefix);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  let db: Database | undefined;
  try {
    console.log(`raw kafkajs: ${opts['raw-events']} events (bench/bus's raw path)...`);
    const raw = await runRaw(brokers, opts['raw-events']);

    const dbUrl = await provisionServiceRole(pg.url, SERVICES.orchestrator.schema, randomUUID());
    child = await startOrchestrator({
      HISHAMOS_MODE: 'distributed',
      DATABASE_URL: dbUrl,
      DATABASE_POOL_SIZE: '20',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: String(opts.partitions),
      SERVICE_TOKEN: TOKEN,
      LOG_LEVEL: 'info', // its "service started" line (with the URL) says it is up
      PORT: '0',
      MAX_CONCURRENT_WORKFLOWS: String(opts['max-workflows']),
      MAX_CONCURRENT_TASKS_PER_AGENT: String(opts['per-agent']),
      ORCHESTRATOR_SEEDS_DIR: seedsDir,
      ORCHESTRATOR_CONSUMER_CONCURRENCY: String(opts.consumers),
    });
    db = await Database.open({ kind: 'postgres', schema: 'orchestrator', url: dbUrl, poolSize: 2 });
    await producer.connect();
    await Promise.all([executor.start(), watcher.start()]);
    console.log('orchestrator up (its own process); warming up...');
    const send = async (events: { id: string; key: string; payload: PayloadInit<typeof Topics.TaskRequested> }[]) => {
      const sent = new Map<string, number>();
      for (let i = 0; i < events.length; i += 500) {
        const messages = events.slice(i, i + 500).map((e) => {
          const ev = encodeEvent(Topics.TaskRequested, e.payload, {
            key: e.key,
            id: e.id,
            source: 'bench-orchestrator',
          });
          return { key: ev.key, value: Buffer.from(ev.value), headers: ev.headers };
        });
        const at = nowMs();
        await producer.sendBatch({
          acks: -1,
          compression: CompressionTypes.None,
          topicMessages: [{ topic: `${prefix}.${Topics.TaskRequested}`, messages }],
        });
        for (const e of events.slice(i, i + 500)) sent.set(e.payload.taskId!, at);
      }
      return sent;
    };

    // Warm-up: a few tasks and one chain, unmeasured (JIT, connection pools, consumer fetch sessions).
    await send(
      Array.from({ length: 50 }, (_, i) => {
        const c = TASK_COMMANDS[i % TASK_COMMANDS.length];
        return {
          id: randomUUID(),
          key: `warm-${i % 8}`,
          payload: {
            requestedBy: `warm-${i % 8}`,
            agent: c.agent,
            command: c.command,
            inputs: { [c.input]: 'warm-up' },
            taskId: `W-${i}`,
          },
        };
      }),
    );
    await until(() => watcher.done('W-') >= 50, 'warm-up', Date.now() + opts.timeout * 1000, 50);

    // Tasks phase.
    console.log(`tasks: ${opts.tasks} single-command tasks over ${TASK_COMMANDS.length} agents...`);
    const taskEvents = Array.from({ length: opts.tasks }, (_, i) => {
      const c = TASK_COMMANDS[i % TASK_COMMANDS.length];
      const user = `user-${i % 64}`;
      return {
        id: randomUUID(),
        key: user,
        payload: {
          requestedBy: user,
          agent: c.agent,
          command: c.command,
          inputs: { [c.input]: `Bench task ${i}` },
          taskId: `T-${i}`,
        },
      };
    });
    const cpuTasks = measureComponentCpu({ ...INFRA_PROCESSES, ...ORCHESTRATOR_PROCESS });
    const t0 = nowMs();
    const sentTasks = await send(taskEvents);
    await until(() => watcher.done('T-') >= opts.tasks, `${opts.tasks} tasks`, Date.now() + opts.timeout * 1000, 20);
    const tEnd = Math.max(...[...watcher.finished.values()].filter((f) => f.taskId.startsWith('T-')).map((f) => f.at));
    const cpuT = cpuTasks();
    const taskSeconds = (tEnd - t0) / 1000;
    const taskLatency = summarize(
      [...watcher.finished.values()]
        .filter((f) => f.taskId.startsWith('T-'))
        .map((f) => f.at - sentTasks.get(f.taskId)!),
    );

    // Chain phase.
    console.log(`chain: ${opts.workflows} runs of a ${opts.steps}-step sequential workflow...`);
    const chainEvents = Array.from({ length: opts.workflows }, (_, i) => {
      const user = `user-${i % 64}`;
      return {
        id: randomUUID(),
        key: user,
        payload: { requestedBy: user, workflow: 'bench-chain', inputs: { feature: `Chain ${i}` }, taskId: `C-${i}` },
      };
    });
    const cpuChain = measureComponentCpu({ ...INFRA_PROCESSES, ...ORCHESTRATOR_PROCESS });
    const c0 = nowMs();
    await send(chainEvents);
    await until(
      () => watcher.done('C-') >= opts.workflows,
      `${opts.workflows} chains`,
      Date.now() + opts.timeout * 1000,
      20,
    );
    const cEnd = Math.max(...[...watcher.finished.values()].filter((f) => f.taskId.startsWith('C-')).map((f) => f.at));
    const cpuC = cpuChain();

    // Solo phase: one chain at a time, so nothing queues: the orchestrator's own overhead per step.
    console.log(`solo: ${opts.solo} runs of the chain, one after another...`);
    for (let i = 0; i < opts.solo; i++) {
      await send([
        {
          id: randomUUID(),
          key: 'solo',
          payload: { requestedBy: 'solo', workflow: 'bench-chain', inputs: { feature: `Solo ${i}` }, taskId: `S-${i}` },
        },
      ]);
      await until(() => watcher.done('S-') > i, `solo chain ${i}`, Date.now() + opts.timeout * 1000, 5);
    }

    // Verification: every run succeeded, each step requested under one key, executed once.
    const failed = [...watcher.finished.values()].filter((f) => f.status !== 'completed');
    if (failed.length > 0) throw new Error(`${failed.length} runs did not complete, e.g. ${failed[0].error}`);
    const [{ runs, attempts, steps }] = await db.query<{ runs: number; attempts: number; steps: number }>(
      `SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM attempts) AS attempts,
              (SELECT count(*)::int FROM steps) AS steps`,
    );
    const expectedRuns = 50 + opts.tasks + opts.workflows + opts.solo;
    if (runs !== expectedRuns) throw new Error(`${runs} runs in the database, expected ${expectedRuns}`);
    if (attempts !== steps || executor.ledger.size !== steps)
      throw new Error(
        `attempts ${attempts}, steps ${steps}, executions ${executor.ledger.size}: a step ran twice or not at all`,
      );

    const byRun = new Map<string, Map<string, ExecutionRecord>>();
    for (const r of executor.ledger.values()) {
      const m = byRun.get(r.runId) ?? new Map<string, ExecutionRecord>();
      m.set(r.stepId, r);
      byRun.set(r.runId, m);
    }
    /**
     * Executor published step k's result -> executor received step k+1's request, split by the orchestrator's
     * own timestamps into consuming the result, advancing + dispatching, and delivering the next request.
     */
    const overheadOf = async (taskPrefix: string) => {
      const runIds = [...watcher.finished.entries()]
        .filter(([, f]) => f.taskId.startsWith(taskPrefix))
        .map(([id]) => id);
      const rows = new Map(
        (
          await db!.query<{ run_id: string; step_id: string; finished_at: Date; requested_at: Date }>(
            `SELECT s.run_id, s.step_id, s.finished_at, a.requested_at
             FROM steps s JOIN attempts a ON a.run_id = s.run_id AND a.step_id = s.step_id
             WHERE s.run_id = ANY($1::uuid[])`,
            [runIds],
          )
        ).map((r) => [`${r.run_id}/${r.step_id}`, r]),
      );
      const total: number[] = [];
      const consume: number[] = [];
      const advance: number[] = [];
      const deliver: number[] = [];
      for (const id of runIds) {
        const m = byRun.get(id)!;
        for (let k = 0; k + 1 < opts.steps; k++) {
          const prevExec = m.get(`s${k}`)!;
          const nextExec = m.get(`s${k + 1}`)!;
          const prev = rows.get(`${id}/s${k}`)!;
          const next = rows.get(`${id}/s${k + 1}`)!;
          total.push(nextExec.receivedAt - prevExec.publishedAt!);
          consume.push(new Date(prev.finished_at).getTime() - prevExec.publishedAt!);
          advance.push(new Date(next.requested_at).getTime() - new Date(prev.finished_at).getTime());
          deliver.push(nextExec.receivedAt - new Date(next.requested_at).getTime());
        }
      }
      return {
        total: summarize(total),
        consumeResult: summarize(consume),
        advanceAndDispatch: summarize(advance),
        relayAndDeliver: summarize(deliver),
      };
    };
    const solo = await overheadOf('S-');
    const loaded = await overheadOf('C-');
    const duplicates = [...executor.ledger.values()].reduce((n, r) => n + r.deliveries - 1, 0);

    const tasksPerSec = opts.tasks / taskSeconds;
    const perTask = (s: number) => round((s * 1e6) / opts.tasks, 0);
    const stepsRun = opts.workflows * opts.steps;
    const perStep = (s: number) => round((s * 1e6) / stepsRun, 0);
    console.log('');
    console.log(
      formatTable(
        ['phase', 'count', 'seconds', 'per second', 'vs raw', 'p50 ms', 'p99 ms'],
        [
          [
            'raw kafkajs events (ceiling)',
            raw.events,
            round(raw.seconds, 2),
            round(raw.eventsPerSec, 0),
            '100%',
            round(raw.latencyMs.p50),
            round(raw.latencyMs.p99),
          ],
          [
            'tasks end to end',
            opts.tasks,
            round(taskSeconds, 2),
            round(tasksPerSec, 0),
            `${round((100 * tasksPerSec) / raw.eventsPerSec, 1)}%`,
            round(taskLatency.p50),
            round(taskLatency.p99),
          ],
          [
            `chain steps (${opts.workflows} x ${opts.steps})`,
            stepsRun,
            round((cEnd - c0) / 1000, 2),
            round(stepsRun / ((cEnd - c0) / 1000), 0),
            '-',
            '-',
            '-',
          ],
        ],
      ),
    );
    console.log('');
    const line = (label: string, x: Summary) => [label, round(x.p50), round(x.p90), round(x.p99), round(x.max)];
    const overheadRows = (label: string, o: Awaited<ReturnType<typeof overheadOf>>) => [
      line(`${label}: result published -> next request received`, o.total),
      line('  result published -> applied (Kafka hop + consumer transaction)', o.consumeResult),
      line('  applied -> next attempt dispatched (advance + scheduler pass)', o.advanceAndDispatch),
      line('  dispatched -> request received (outbox relay + Kafka hop)', o.relayAndDeliver),
    ];
    console.log(
      formatTable(
        ['orchestrator overhead per step (ms)', 'p50', 'p90', 'p99', 'max'],
        [
          ...overheadRows(`solo (${opts.solo} runs, one at a time)`, solo),
          ...overheadRows(`loaded (${opts.workflows} runs at once)`, loaded),
        ],
      ),
    );
    console.log('');
    console.log(
      formatTable(
        ['CPU µs', 'orchestrator', 'postgres', 'kafka', 'bench (executor, producer)'],
        [
          [
            'per task',
            perTask(cpuT.orchestrator ?? NaN),
            perTask(cpuT.postgres ?? NaN),
            perTask(cpuT.kafka ?? NaN),
            perTask(cpuT.node),
          ],
          [
            'per chain step',
            perStep(cpuC.orchestrator ?? NaN),
            perStep(cpuC.postgres ?? NaN),
            perStep(cpuC.kafka ?? NaN),
            perStep(cpuC.node),
          ],
        ],
      ),
    );
    console.log(
      `\nverified: ${runs} runs succeeded, ${attempts} steps each requested once, ${duplicates} duplicate deliveries absorbed`,
    );
    const file = writeResults(REPO, opts.out, {
      machine,
      postgres: settings,
      options: opts,
      raw,
      tasks: {
        count: opts.tasks,
        seconds: taskSeconds,
        tasksPerSec,
        ratioToRaw: tasksPerSec / raw.eventsPerSec,
        latencyMs: taskLatency,
        cpuSeconds: cpuT,
      },
      chain: {
        runs: opts.workflows,
        steps: opts.steps,
        seconds: (cEnd - c0) / 1000,
        stepsPerSec: stepsRun / ((cEnd - c0) / 1000),
        overheadPerStepMs: { solo, loaded },
        cpuSeconds: cpuC,
      },
      verified: { runs, attempts, steps, executions: executor.ledger.size, duplicateDeliveries: duplicates },
    });
    console.log(`results: ${file}`);
    return 0;
  } finally {
    await executor.stop();
    await watcher.stop();
    await producer.disconnect().catch(() => undefined);
    if (child) await stopOrchestrator(child);
    await db?.close().catch(() => undefined);
    await deleteTopics(brokers, prefix).catch(() => undefined);
    await pg.drop().catch(() => undefined);
    rmSync(seedsDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`bench/orchestrator failed: ${error.message}`);
    process.exit(1);
  },
);
