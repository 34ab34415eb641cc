import { decodeEvent, Topics } from '@hishamos/contracts';
import type { Database, QueryResultRows, SqlExecutor } from '@hishamos/persistence';
import { commitHooksOf, Outbox, transactionWithHooks, type CommitHooks } from './outbox';

const tick = () => new Promise((r) => setImmediate(r));

/** Records every statement; answers nothing. */
class FakeTx implements SqlExecutor {
  readonly statements: { sql: string; params: unknown[] }[] = [];
  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    this.statements.push({ sql, params });
    return [];
  }
  async run<T>(sql: string, params: unknown[] = []): Promise<QueryResultRows<T>> {
    return { rows: await this.query<T>(sql, params), rowCount: 0 };
  }
}

class HookedTx extends FakeTx implements CommitHooks {
  readonly hooks: (() => void)[] = [];
  onCommit(fn: () => void): void {
    this.hooks.push(fn);
  }
  commit(): void {
    for (const h of this.hooks) h();
  }
}

/** A Database double whose transaction commits when fn resolves and rolls back when it throws. */
function fakeDb(tx: SqlExecutor, log: string[]): Database {
  return {
    transaction: async <T>(fn: (t: SqlExecutor) => Promise<T>): Promise<T> => {
      log.push('begin');
      try {
        const r = await fn(tx);
        log.push('commit');
        return r;
      } catch (e) {
        log.push('rollback');
        throw e;
      }
    },
  } as unknown as Database;
}

describe('Outbox.addMany', () => {
  it('writes every event in one statement, in array order, and returns their ids in that order', async () => {
    const tx = new FakeTx();
    const outbox = new Outbox('test/source');
    const payloads = ['t1', 't2', 't3'].map((taskId) => ({ taskId, requestedBy: `u-${taskId}` }));
    const ids = await outbox.addMany(tx, Topics.TaskRequested, payloads, (_, i) => ({
      key: payloads[i].requestedBy,
      id: `id-${i}`,
    }));
    expect(ids).toEqual(['id-0', 'id-1', 'id-2']);
    expect(tx.statements).toHaveLength(1);
    const { sql, params } = tx.statements[0];
    expect(sql).toMatch(/INSERT INTO outbox .* WITH ORDINALITY .* ORDER BY n/s);
    const [topic, eventIds, keys, bytes, offsets, lengths, headers] = params as [
      string,
      string[],
      string[],
      Buffer,
      number[],
      number[],
      string,
    ];
    expect(topic).toBe(Topics.TaskRequested);
    expect(eventIds).toEqual(ids);
    expect(keys).toEqual(['u-t1', 'u-t2', 'u-t3']);
    // One buffer, cut as Postgres' substring(payloads FROM offset FOR length) will.
    expect(offsets[0]).toBe(1);
    expect(offsets[2] + lengths[2] - 1).toBe(bytes.length);
    const headerList = JSON.parse(headers) as Record<string, string>[];
    const decoded = keys.map((k, i) =>
      decodeEvent(Topics.TaskRequested, k, bytes.subarray(offsets[i] - 1, offsets[i] - 1 + lengths[i]), headerList[i]),
    );
    expect(decoded.map((e) => e.payload.taskId)).toEqual(['t1', 't2', 't3']);
    expect(decoded.map((e) => e.attributes.id)).toEqual(ids);
    expect(decoded.every((e) => e.attributes.source === 'test/source')).toBe(true);
  });

  it('accepts a list of options or one shared object without an id, and rejects the ambiguous cases', async () => {
    const tx = new FakeTx();
    const outbox = new Outbox('s');
    const two = [{ taskId: 'a' }, { taskId: 'b' }];
    expect(
      await outbox.addMany(tx, Topics.TaskRequested, two, [
        { key: 'k', id: 'x' },
        { key: 'k', id: 'y' },
      ]),
    ).toEqual(['x', 'y']);
    const shared = await outbox.addMany(tx, Topics.TaskRequested, two, { key: 'k' });
    expect(new Set(shared).size).toBe(2);
    await expect(outbox.addMany(tx, Topics.TaskRequested, two, { key: 'k', id: 'same' })).rejects.toThrow(/one `id`/);
    await expect(outbox.addMany(tx, Topics.TaskRequested, two, [{ key: 'k' }])).rejects.toThrow(/2 payloads but 1/);
    expect(await outbox.addMany(tx, Topics.TaskRequested, [], { key: 'k' })).toEqual([]);
    expect(tx.statements).toHaveLength(2);
  });
});

describe('Outbox wake-ups', () => {
  it('wakes its listeners once, after the commit, when the transaction has commit hooks', async () => {
    const outbox = new Outbox('s');
    const calls: boolean[] = [];
    outbox.onAdded((committed) => calls.push(committed));
    const tx = new HookedTx();
    await outbox.add(tx, Topics.TaskRequested, { taskId: '1' }, { key: 'k' });
    await outbox.addMany(tx, Topics.TaskRequested, [{ taskId: '2' }, { taskId: '3' }], { key: 'k' });
    await tick();
    expect(calls).toEqual([]);
    expect(tx.hooks).toHaveLength(1);
    tx.commit();
    await tick();
    expect(calls).toEqual([true]);
  });

  it('never wakes for a transaction that rolls back', async () => {
    const outbox = new Outbox('s');
    const calls: boolean[] = [];
    outbox.onAdded((committed) => calls.push(committed));
    await outbox.add(new HookedTx(), Topics.TaskRequested, { taskId: '1' }, { key: 'k' });
    await tick();
    expect(calls).toEqual([]);
  });

  it('without commit hooks, wakes at once (not committed yet), coalescing the adds of one tick', async () => {
    const outbox = new Outbox('s');
    const calls: boolean[] = [];
    const off = outbox.onAdded((committed) => calls.push(committed));
    const tx = new FakeTx();
    await Promise.all([
      outbox.add(tx, Topics.TaskRequested, { taskId: '1' }, { key: 'k' }),
      outbox.add(tx, Topics.TaskRequested, { taskId: '2' }, { key: 'k' }),
    ]);
    await tick();
    expect(calls).toEqual([false]);
    off();
    await outbox.add(tx, Topics.TaskRequested, { taskId: '3' }, { key: 'k' });
    await tick();
    expect(calls).toEqual([false]);
  });
});

describe('transactionWithHooks', () => {
  it('runs the callbacks after the commit, in order, and a failing one does not fail the transaction', async () => {
    const log: string[] = [];
    const result = await transactionWithHooks(fakeDb(new FakeTx(), log), async (tx) => {
      await tx.query('SELECT 1');
      tx.onCommit(() => log.push('hook 1'));
      tx.onCommit(() => {
        throw new Error('ignored');
      });
      tx.onCommit(() => log.push('hook 3'));
      log.push('body');
      return 42;
    });
    expect(result).toBe(42);
    expect(log).toEqual(['begin', 'body', 'commit', 'hook 1', 'hook 3']);
  });

  it('does not run them when the transaction rolls back', async () => {
    const log: string[] = [];
    await expect(
      transactionWithHooks(fakeDb(new FakeTx(), log), async (tx) => {
        tx.onCommit(() => log.push('hook'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(log).toEqual(['begin', 'rollback']);
  });

  it("uses the executor's own commit hooks when it has them", async () => {
    const native = new HookedTx();
    await transactionWithHooks(fakeDb(native, []), async (tx) => {
      expect(tx).toBe(native);
      expect(commitHooksOf(tx)).toBe(native);
      tx.onCommit(() => undefined);
    });
    expect(native.hooks).toHaveLength(1);
    expect(commitHooksOf(new FakeTx())).toBeUndefined();
  });
});
