import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { Topics, WorkflowEventKind } from '@hishamos/contracts';
import { Database } from '@hishamos/persistence';
import { waitFor } from '@hishamos/testing';
import { OrchestratorEnv, traceIdOf } from './fixtures/orchestrator-env';

jest.setTimeout(240000);

const incidentInputs = {
  service: 'checkout-api',
  platform: 'Kubernetes with Helm',
  symptoms: '5xx rate at 12% since 14:02 UTC',
  logs: 'ERROR pool exhausted at 14:02:11',
  telemetry: 'p99 2.4 s, error rate 12%',
  objectives: '99.9% availability, p99 < 500 ms',
  time_window: '14:00-14:30 UTC',
  deployed_version: 'v2.31.0',
  environment: 'Node.js services on GKE, internet-facing',
  assets: 'payment tokens, customer PII',
  customer_reports: 'Customers cannot pay since 14:05',
};

/** The largest number of [start, end) intervals that overlap at one instant. */
function maxOverlap(intervals: [number, number][]): number {
  const points = intervals.flatMap(([s, e]) => [
    [s, 1],
    [e, -1],
  ]);
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let max = 0;
  for (const [, d] of points) {
    n += d;
    max = Math.max(max, n);
  }
  return max;
}

describe('orchestrator durability and limits, as real OS processes', () => {
  const env = new OrchestratorEnv();
  let db: Database;

  beforeAll(async () => {
    await env.setup('durable');
    db = await Database.open({ kind: 'postgres', schema: 'orchestrator', url: env.orchestratorDbUrl, poolSize: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await env.teardown();
  });

  it('resumes every run after kill -9 at different points; each run completes once and each step executes once', async () => {
    env.executor.script = (req) =>
      req.stepId === 'health' ? { delayMs: 150, sections: { verdict: 'degraded' } } : { delayMs: 150 };
    let current = (await env.spawn()).child;
    const kills: string[] = [];
    let killing: Promise<void> | undefined;
    const killAndRestart = (why: string) => {
      if (killing) return;
      const victim = current;
      kills.push(why);
      // SIGKILL at once, from inside the executor's callback: no graceful anything.
      victim.kill('SIGKILL');
      killing = (async () => {
        await new Promise((r) =>
          victim.exitCode !== null || victim.signalCode !== null ? r(null) : victim.once('exit', r),
        );
        current = (await env.spawn()).child;
        killing = undefined;
      })();
    };
    // Kill points, in order: right after the first request left the orchestrator; just after the 8th result was
    // published (results in flight, not yet consumed); at the 20th request (dispatches and results interleaved).
    let requests = 0;
    let completions = 0;
    const points = [
      { name: 'after the first execution request', due: () => requests >= 1 },
      { name: 'just after the 8th result was published', due: () => completions >= 8 },
      { name: 'at the 20th execution request', due: () => requests >= 20 },
    ];
    const check = () => {
      if (killing || points.length === 0 || !points[0].due()) return;
      killAndRestart(points.shift()!.name);
    };
    const originalScript = env.executor.script;
    env.executor.script = (req, attempt) => {
      requests++;
      setImmediate(check);
      return originalScript(req, attempt);
    };
    env.executor.onCompleted = () => {
      completions++;
      check();
    };

    // Each task event comes from its own trace (a W3C traceparent header, as another team's producer sends it).
    const traced = () => ({ id: randomUUID(), traceId: randomBytes(16).toString('hex') });
    const workflowEvents = Array.from({ length: 4 }, (_, i) => ({ ...traced(), user: `u-kill-${i}` }));
    const taskEvents = Array.from({ length: 6 }, (_, i) => ({ ...traced(), user: `u-kill-${i % 2}` }));
    const headersOf = (e: { traceId: string }) => ({
      traceparent: `00-${e.traceId}-${randomBytes(8).toString('hex')}-01`,
    });
    for (const e of workflowEvents) {
      await env.bus.publish(
        Topics.TaskRequested,
        { requestedBy: e.user, workflow: 'incident-response', inputs: incidentInputs, taskId: e.id },
        { key: e.user, id: e.id, headers: headersOf(e) },
      );
    }
    for (const e of taskEvents) {
      await env.bus.publish(
        Topics.TaskRequested,
        {
          requestedBy: e.user,
          agent: 'security',
          command: 'phishing_analysis',
          inputs: { email: `suspicious mail ${e.id}` },
          taskId: e.id,
        },
        { key: e.user, id: e.id, headers: headersOf(e) },
      );
    }
    const expected = workflowEvents.length + taskEvents.length;
    const runs = await waitFor(
      async () => {
        const rows = await db.query<{ id: string; status: string; task_id: string; kind: string }>(
          `SELECT id, status, task_id, kind FROM runs`,
        );
        return rows.length === expected &&
          rows.every((r) => r.status === 'succeeded') &&
          points.length === 0 &&
          !killing
          ? rows
          : undefined;
      },
      { timeoutMs: 200000, intervalMs: 250, what: 'every run succeeded after the kills' },
    );
    expect(kills).toHaveLength(3);
    // Exactly one run per task event (redelivered events did not start a second one).
    expect(new Set(runs.map((r) => r.task_id))).toEqual(new Set([...workflowEvents, ...taskEvents].map((e) => e.id)));
    // Each run completed exactly once in effect: one COMPLETED event id per run.
    for (const r of runs) {
      await env.events.waitFor(r.id, WorkflowEventKind.COMPLETED, 30000);
      expect(env.events.count(r.id, WorkflowEventKind.COMPLETED)).toBe(1);
      expect(env.events.count(r.id, WorkflowEventKind.STARTED)).toBe(1);
    }
    // Each step was requested under one idempotency key, and the executor ran each key once.
    const ledger = env.executor.executions();
    const byStep = new Map<string, Set<string>>();
    for (const e of ledger) {
      const k = `${e.request.runId}/${e.request.stepId}`;
      byStep.set(k, (byStep.get(k) ?? new Set()).add(e.request.idempotencyKey));
      expect(e.executions).toBe(1);
    }
    expect(byStep.size).toBe(workflowEvents.length * 6 + taskEvents.length);
    expect([...byStep.values()].every((keys) => keys.size === 1)).toBe(true);
    const attempts = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM attempts`);
    expect(attempts[0].n).toBe(byStep.size);
    // Across the kills, whichever process published them, every request and workflow event of a run carries the
    // trace of the task event that asked for it (the run keeps its trace context in its row).
    const traceOfTask = new Map<string, string>([...workflowEvents, ...taskEvents].map((e) => [e.id, e.traceId]));
    for (const r of runs) {
      const expected = traceOfTask.get(r.task_id);
      const requests = ledger.filter((e) => e.request.runId === r.id);
      expect(requests.length).toBeGreaterThan(0);
      expect([...new Set(requests.map((e) => traceIdOf(e.traceparent)))]).toEqual([expected]);
      expect([...new Set(env.events.of(r.id).map((e) => traceIdOf(e.traceparent)))]).toEqual([expected]);
    }
    const redelivered = ledger.reduce((n, e) => n + e.deliveries - 1, 0);
    process.stdout.write(
      `kill -9 test: kills ${kills.join('; ')}; ${ledger.length} executions, ${redelivered} duplicate deliveries absorbed\n`,
    );
    env.executor.onCompleted = undefined;
    await env.kill(current);
  });

  it('never exceeds MAX_CONCURRENT_WORKFLOWS or any agent limit with 200 queued tasks and two orchestrator processes, serving users fairly', async () => {
    const MAX_WORKFLOWS = 8;
    const PER_AGENT = 4; // security's own limit is 3 (seeds/agents/security.yaml), qa and business-analyst 4
    const limits: Record<string, number> = { security: 3, qa: 4, 'business-analyst': 4 };
    // Answers are held until both processes consume results (each has partitions of ExecutionCompleted),
    // so both get to dispatch however fast the first one alone could work through the queue.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    env.executor.script = () => ({ delayMs: 40, after: gate });
    env.executor.maxInFlight.clear();
    env.executor.maxTotal = 0;
    env.executor.maxRuns = 0;
    const agents = [
      { agent: 'security', command: 'phishing_analysis', input: 'email' },
      { agent: 'qa', command: 'reproduce_bug', input: 'report' },
      { agent: 'business-analyst', command: 'write_user_stories', input: 'feature' },
    ];
    // One user floods 140 tasks first; three others then queue 20 each.
    const plan = [
      ...Array.from({ length: 140 }, () => 'u-flood'),
      ...Array.from({ length: 60 }, (_, i) => `u-fair-${i % 3}`),
    ];
    for (let i = 0; i < plan.length; i++) {
      const a = agents[i % agents.length];
      await env.bus.publish(
        Topics.TaskRequested,
        {
          requestedBy: plan[i],
          agent: a.agent,
          command: a.command,
          inputs: { [a.input]: `item ${i}` },
          taskId: `limits-${i}`,
        },
        { key: plan[i] },
      );
    }
    const limitsEnv = {
      MAX_CONCURRENT_WORKFLOWS: String(MAX_WORKFLOWS),
      MAX_CONCURRENT_TASKS_PER_AGENT: String(PER_AGENT),
    };
    const children: ChildProcess[] = (await Promise.all([env.spawn(limitsEnv), env.spawn(limitsEnv)])).map(
      (c) => c.child,
    );
    const admin = new Kafka({ brokers: env.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const group = `${env.prefix}.hishamos.orchestrator.${Topics.ExecutionCompleted}`;
      await waitFor(
        async () => {
          const { groups } = await admin.describeGroups([group]);
          const assigned = (groups[0]?.members ?? []).filter((m) => {
            const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
            return a !== null && Object.values(a.assignment).some((partitions) => partitions.length > 0);
          });
          return groups[0]?.state === 'Stable' && assigned.length === 2;
        },
        { timeoutMs: 60000, intervalMs: 200, what: 'both orchestrators consuming results' },
      );
    } finally {
      await admin.disconnect();
    }
    openGate();
    const runs = await waitFor(
      async () => {
        const rows = await db.query<{
          id: string;
          user_id: string;
          status: string;
          started_at: Date;
          finished_at: Date;
        }>(`SELECT id, user_id, status, started_at, finished_at FROM runs WHERE task_id LIKE 'limits-%'`);
        return rows.length === plan.length && rows.every((r) => r.status === 'succeeded') ? rows : undefined;
      },
      { timeoutMs: 150000, intervalMs: 250, what: '200 tasks done' },
    );
    for (const c of children) await env.kill(c);

    // What the executor saw (the gateway's view): in flight per agent, in all, and distinct runs.
    for (const [agent, limit] of Object.entries(limits)) {
      expect(env.executor.maxInFlight.get(agent)).toBeLessThanOrEqual(limit);
      expect(env.executor.maxInFlight.get(agent)).toBeGreaterThan(1); // the limit was actually exercised
    }
    expect(env.executor.maxTotal).toBeLessThanOrEqual(MAX_WORKFLOWS);
    expect(env.executor.maxRuns).toBeLessThanOrEqual(MAX_WORKFLOWS);
    // What the database saw: runs running at once, and attempts holding an agent slot at once. The stamps are
    // taken by the database clock in the transactions that take and free the slots (a start after the snapshot
    // that counted the free slots, an end before the commit that frees one), by either process, so the
    // intervals never overlap more than the limits allow.
    const runIntervals = runs.map(
      (r) => [new Date(r.started_at).getTime(), new Date(r.finished_at).getTime()] as [number, number],
    );
    const runOverlap = maxOverlap(runIntervals);
    expect(runOverlap).toBeLessThanOrEqual(MAX_WORKFLOWS);
    expect(runOverlap).toBeGreaterThan(1);
    const attempts = await db.query<{ agent: string; requested_at: Date; slot_released_at: Date }>(
      `SELECT a.agent, a.requested_at, a.slot_released_at FROM attempts a JOIN runs r ON r.id = a.run_id
       WHERE r.task_id LIKE 'limits-%'`,
    );
    const slotOverlap: Record<string, number> = {};
    for (const [agent, limit] of Object.entries(limits)) {
      const intervals = attempts
        .filter((a) => a.agent === agent)
        .map((a) => [new Date(a.requested_at).getTime(), new Date(a.slot_released_at).getTime()] as [number, number]);
      slotOverlap[agent] = maxOverlap(intervals);
      expect(slotOverlap[agent]).toBeLessThanOrEqual(limit);
    }
    // Both processes dispatched work.
    const dispatchers = await db.query<{ by: string }>(
      `SELECT DISTINCT data->>'by' AS by FROM run_events e JOIN runs r ON r.id = e.run_id
       WHERE e.kind = 'step_started' AND r.task_id LIKE 'limits-%'`,
    );
    expect(dispatchers.length).toBe(2);
    // Fair order: the three small users' 60 tasks all started before the flood's last 60.
    const order = [...runs].sort((a, b) => new Date(a.started_at).getTime() - new Date(b.started_at).getTime());
    const lastFair = Math.max(...order.map((r, i) => (r.user_id.startsWith('u-fair') ? i : -1)));
    expect(lastFair).toBeLessThan(140);
    process.stdout.write(
      `limits test: max in flight ${JSON.stringify(Object.fromEntries(env.executor.maxInFlight))}, total ${env.executor.maxTotal}, ` +
        `runs ${env.executor.maxRuns}; database: runs ${runOverlap}, slots ${JSON.stringify(slotOverlap)}; ` +
        `last small-user task started at position ${lastFair + 1} of 200\n`,
    );
  });
});
