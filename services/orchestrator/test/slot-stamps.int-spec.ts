import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SERVICES } from '@hishamos/contracts';
import { Database, migrate, migrationFiles, provisionServiceRole, type SqlExecutor } from '@hishamos/persistence';
import { requirePostgresDatabase } from '@hishamos/testing';
import { AttemptRepository } from '../src/repositories/attempt.repository';
import type { RunRow } from '../src/repositories/rows';
import { RunRepository } from '../src/repositories/run.repository';
import { SchedulerRepository } from '../src/repositories/scheduler.repository';
import { REPO } from './fixtures/orchestrator-env';

jest.setTimeout(60000);

/**
 * The limits' own stamps, against the real Postgres: a run's [started_at, finished_at) and an attempt's
 * [requested_at, slot_released_at) are what MAX_CONCURRENT_WORKFLOWS and the agent limits count, whichever
 * replica stamps them and however late its transaction gets to the statement that takes the slot.
 */
describe('slot stamps (scheduler, Postgres)', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let db: Database;
  const runs = new RunRepository();
  const attempts = new AttemptRepository();
  const scheduler = new SchedulerRepository();
  const AGENT = 'qa';

  beforeAll(async () => {
    pg = await requirePostgresDatabase('orch_slots');
    const url = await provisionServiceRole(pg.url, SERVICES.orchestrator.schema, 'orch-slots-pw');
    db = await Database.open({ kind: 'postgres', schema: SERVICES.orchestrator.schema, url, poolSize: 4 });
    await migrate(db, migrationFiles(join(REPO, 'migrations'), 'orchestrator'));
  });
  afterAll(async () => {
    await db?.close();
    await pg?.drop();
  });
  beforeEach(async () => {
    // Each test starts from no runs (the limits count every run and attempt in the schema).
    await db.query(`DELETE FROM attempts`);
    await db.query(`DELETE FROM steps`);
    await db.query(`DELETE FROM runs`);
  });

  const newRun = async (tx: SqlExecutor = db): Promise<RunRow> =>
    (await runs.insert(
      tx,
      {
        id: randomUUID(),
        kind: 'task',
        workflow_id: 'task',
        workflow_version: 1,
        workflow_name: 'task',
        definition: null,
        user_id: 'u-slots',
        team_id: null,
        task_id: null,
        priority: 1,
        inputs: {},
        source: 'test',
        source_id: randomUUID(),
        timeout_seconds: 600,
        created_at: new Date(),
        traceparent: null,
        tracestate: null,
      },
      [
        {
          step_id: 'only',
          position: 0,
          kind: 'agent',
          agent: AGENT,
          command: 'reproduce_bug',
          max_attempts: 1,
          attempt_timeout_seconds: 60,
        },
      ],
      { kind: 'task' },
    ))!;
  const admit = (max: number, tx: SqlExecutor = db) => scheduler.admitRuns(tx, max, 100);
  const claim = (limit: number, tx: SqlExecutor = db) =>
    scheduler.claimDispatchable(tx, new Map([[AGENT, limit]]), 5, 100);
  const queueStep = (run: RunRow) => runs.markQueued(db, [{ run_id: run.id, step_id: 'only', inputs: {} }], new Date());
  /** Claims the run's step and records its attempt, as a scheduler pass does. */
  const dispatch = async (run: RunRow, deadline = new Date(Date.now() + 60000)): Promise<string> => {
    await queueStep(run);
    const [step] = await claim(100);
    expect(step.run_id).toBe(run.id);
    const key = `${run.id}:only:${step.attempt}`;
    await attempts.insertMany(
      db,
      [
        {
          idempotency_key: key,
          execution_id: randomUUID(),
          run_id: run.id,
          step_id: 'only',
          attempt: step.attempt,
          agent: AGENT,
          user_id: run.user_id,
          deadline_at: deadline,
        },
      ],
      new Date(step.started_at!),
    );
    return key;
  };
  const attemptRow = async (key: string) => (await attempts.byKey(db, key))!;
  const runRow = async (id: string) => (await runs.get(db, id))!;
  const ms = (d: Date | string | null) => new Date(d!).getTime();

  /**
   * The pass takes the scheduler lock, then (before its next statement runs) another replica commits the end
   * of the run holding the only slot. The pass's statement sees that commit and starts the queued run. The old
   * code stamped started_at with the time the pass had read before that statement, earlier than the other
   * replica's finished_at: two runs "running" at once in the stamps with a limit of one, the 9-of-8 overlap
   * once seen under heavy load. The stamp is now taken inside the statement, after its snapshot.
   */
  it('stamps a run’s start after the snapshot that saw the slot free, so it never precedes the end that freed it', async () => {
    const first = await newRun();
    const second = await newRun();
    expect((await admit(1)).map((r) => r.id)).toEqual([first.id]);
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    let readBeforeStatement = 0;
    const pass = db.transaction(async (tx) => {
      await scheduler.lockScheduler(tx);
      readBeforeStatement = Date.now(); // what the old code stamped
      await paused; // a slow replica: descheduled, GC, a loaded database
      return admit(1, tx);
    });
    await new Promise((r) => setTimeout(r, 20));
    await db.transaction((tx) => runs.finish(tx, { id: first.id, status: 'succeeded' }));
    const finishedAt = ms((await runRow(first.id)).finished_at);
    resume();
    const started = await pass;
    expect(started.map((r) => r.id)).toEqual([second.id]);
    expect(readBeforeStatement).toBeLessThan(finishedAt);
    expect(ms((await runRow(second.id)).started_at)).toBeGreaterThanOrEqual(finishedAt);
  });

  it('stamps an attempt’s slot the same way: requested after the snapshot that saw the slot free', async () => {
    const first = await newRun();
    const second = await newRun();
    await admit(10);
    const firstKey = await dispatch(first);
    await queueStep(second);
    expect(await claim(1)).toEqual([]); // the one slot is taken
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    const pass = db.transaction(async (tx) => {
      await scheduler.lockScheduler(tx);
      await paused;
      return claim(1, tx);
    });
    await new Promise((r) => setTimeout(r, 20));
    await db.transaction((tx) => attempts.complete(tx, firstKey, 'succeeded'));
    resume();
    const [claimed] = await pass;
    expect(claimed.run_id).toBe(second.id);
    const released = await attemptRow(firstKey);
    expect(released.holds_slot).toBe(false);
    expect(ms(claimed.started_at)).toBeGreaterThanOrEqual(ms(released.slot_released_at));
    expect(ms(released.slot_released_at)).toBeGreaterThanOrEqual(ms(released.requested_at));
  });

  it('keeps a failed or cancelled run’s slot while an attempt it abandoned may still run at the gateway', async () => {
    const cancelled = await newRun();
    const waiting = await newRun();
    await admit(1);
    const key = await dispatch(cancelled, new Date(Date.now() + 60000));
    // Cancelled: the attempt is abandoned; its lease runs to its deadline plus the grace period.
    await db.transaction(async (tx) => {
      await attempts.abandon(tx, cancelled.id, undefined, 'abandoned', 30);
      await runs.finish(tx, { id: cancelled.id, status: 'cancelled' });
    });
    const abandoned = await attemptRow(key);
    expect(ms(abandoned.slot_release_at)).toBeGreaterThanOrEqual(ms(abandoned.deadline_at) + 30000);
    expect(await admit(1)).toEqual([]); // the run has ended, but its execution may still be running
    expect(await claim(1)).toEqual([]);
    // Its late result frees both slots.
    await db.transaction((tx) => attempts.releaseSlot(tx, key));
    const [started] = await admit(1);
    expect(started.id).toBe(waiting.id);
    const released = await attemptRow(key);
    expect(ms(started.started_at)).toBeGreaterThanOrEqual(ms(released.slot_released_at));
  });

  it('ends an abandoned attempt’s lease at its deadline plus the grace period when no result comes', async () => {
    const timedOut = await newRun();
    const waiting = await newRun();
    await admit(1);
    const key = await dispatch(timedOut, new Date(Date.now() - 1000)); // its deadline has passed
    await db.transaction(async (tx) => {
      await attempts.abandon(tx, timedOut.id, 'only', 'timed_out', 0);
      await runs.finish(tx, { id: timedOut.id, status: 'failed' });
    });
    await new Promise((r) => setTimeout(r, 10));
    const [started] = await admit(1);
    expect(started.id).toBe(waiting.id);
    await db.transaction((tx) => attempts.releaseExpired(tx));
    const released = await attemptRow(key);
    expect(released.holds_slot).toBe(false);
    expect(ms(released.slot_released_at)).toBe(ms(released.slot_release_at));
    expect(ms(started.started_at)).toBeGreaterThanOrEqual(ms(released.slot_released_at));
  });
});
