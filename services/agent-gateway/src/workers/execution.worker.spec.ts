import type { ServiceContext } from '@hishamos/platform';
import { waitFor } from '@hishamos/testing';
import type { ExecutionRecorder, FinishedExecution } from '../repositories/execution-recorder';
import type { ExecutionRecord, ExecutionRepository } from '../repositories/execution.repository';
import type {
  ExecuteCommandUseCase,
  PreparedCommand,
  StagedCommand,
} from '../usecases/execute-command/execute-command.usecase';
import { ExecutionWorker } from './execution.worker';

/** What node-postgres says when Postgres goes away (connectionErrorKind: 'database'). */
const terminated = () => new Error('Connection terminated unexpectedly');
/** A database that is not listening (connectionErrorKind: 'socket'). */
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

const queued = (id: string): ExecutionRecord => ({
  id,
  kind: 'command',
  status: 'running',
  userId: 'u-1',
  via: 'event',
  agent: 'coding',
  command: 'write_code',
  request: { inputs: { feature: 'x' } },
  offline: false,
  streamed: false,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  usageEstimated: false,
  leaseToken: 'token-1',
});

/** Fails the first `n` calls with `error()`, then answers `value()`. */
function failing<T>(n: number, error: () => Error, value: () => T) {
  let calls = 0;
  return jest.fn(async () => {
    calls++;
    if (calls <= n) throw error();
    return value();
  });
}

function setup(
  overrides: {
    claim?: jest.Mock;
    prepare?: jest.Mock;
    renew?: jest.Mock;
    call?: jest.Mock;
  } = {},
) {
  const logs: { level: string; msg: string }[] = [];
  const log = (level: string) => (_o: unknown, msg: string) => void logs.push({ level, msg });
  const ctx = {
    settings: { EXECUTION_WORKERS: 2, EXECUTION_LEASE_SECONDS: 300, PROVIDER_TOTAL_TIMEOUT_MS: 120_000 },
    logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') },
  } as unknown as ServiceContext;
  const repository = {
    claim: overrides.claim ?? jest.fn(async (id: string) => queued(id)),
    renew: overrides.renew ?? jest.fn(async () => true),
    pending: jest.fn(async (): Promise<string[]> => []),
  };
  const recorded: FinishedExecution[] = [];
  const recorder = {
    record: jest.fn(async (item: FinishedExecution) => {
      recorded.push(item);
      return true;
    }),
  };
  const prepared = {} as PreparedCommand;
  const executeCommand = {
    prepare: overrides.prepare ?? jest.fn(async () => prepared),
    stage: jest.fn(async () => ({ prepared }) as StagedCommand),
    call: overrides.call ?? jest.fn(async () => queued('x')),
  };
  const worker = new ExecutionWorker(
    ctx,
    repository as unknown as ExecutionRepository,
    recorder as unknown as ExecutionRecorder,
    executeCommand as unknown as ExecuteCommandUseCase,
  );
  /** Runs one execution to its end (the worker's pump settles). */
  const runToEnd = async (id: string) => {
    worker.kick(id);
    await waitIdle(worker);
  };
  return { worker, repository, recorder, recorded, executeCommand, logs, runToEnd };
}

async function waitIdle(worker: ExecutionWorker): Promise<void> {
  const active = (worker as unknown as { active: Set<Promise<void>> }).active;
  while (active.size) await Promise.allSettled([...active]);
}

describe('ExecutionWorker during a database outage', () => {
  it('keeps the execution through failing claims and preparations, then calls the provider once', async () => {
    const claim = failing(2, refused, () => queued('e-1'));
    const prepare = failing(3, terminated, () => ({}) as PreparedCommand);
    const { executeCommand, repository, recorded, logs, runToEnd } = setup({ claim, prepare });
    await runToEnd('e-1');
    expect(claim).toHaveBeenCalledTimes(3);
    expect(prepare).toHaveBeenCalledTimes(4);
    expect(repository.renew).toHaveBeenCalledWith('e-1', 'token-1', 300);
    expect(executeCommand.call).toHaveBeenCalledTimes(1);
    expect(recorded).toEqual([]); // nothing recorded as failed
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    // The outage is logged once, not once per retry.
    expect(logs.filter((l) => l.msg.startsWith('executions wait'))).toHaveLength(1);
  });

  it('does not call the provider when another worker took the execution over meanwhile', async () => {
    const prepare = failing(1, terminated, () => ({}) as PreparedCommand);
    const renew = jest.fn(async () => false);
    const { executeCommand, recorded, runToEnd } = setup({ prepare, renew });
    await runToEnd('e-2');
    expect(executeCommand.call).not.toHaveBeenCalled();
    expect(recorded).toEqual([]);
  });

  it('records other errors as a failed execution at once', async () => {
    const prepare = jest.fn(async () => {
      throw new Error('boom');
    });
    const { recorded, runToEnd, logs } = setup({ prepare });
    await runToEnd('e-3');
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(recorded.map((r) => [r.record.status, r.record.errorCode])).toEqual([['failed', 'internal_error']]);
    expect(logs.map((l) => l.msg)).toContain('execution failed');
  });

  it('leaves the execution to its lease when stopped mid-outage (no failed record)', async () => {
    const prepare = jest.fn(async () => {
      throw terminated();
    });
    const { worker, executeCommand, recorded } = setup({ prepare });
    worker.kick('e-4');
    await new Promise((r) => setTimeout(r, 500));
    await worker.onModuleDestroy();
    expect(prepare.mock.calls.length).toBeGreaterThan(1);
    expect(executeCommand.call).not.toHaveBeenCalled();
    expect(recorded).toEqual([]);
  });

  it('backs off its polling while the database is away', async () => {
    const { worker, repository } = setup();
    const pending = failing(3, refused, () => [] as string[]);
    repository.pending = pending;
    await worker.resume();
    // Again after 200, 400 and 800 ms; once it answers, no further polling before the 30 s tick.
    await waitFor(() => pending.mock.calls.length >= 4 || undefined, { what: 'the fourth poll', timeoutMs: 10000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(pending).toHaveBeenCalledTimes(4);
    await worker.onModuleDestroy();
  });
});
