import type { Database, SqlExecutor } from '@hishamos/persistence';
import type { ServiceContext } from '@hishamos/platform';
import type { Clock } from '../../engine/clock';
import type { RunEngine } from '../../engine/run-engine';
import type { RunRepository } from '../../repositories/run.repository';
import type { TimerRow } from '../../repositories/rows';
import type { TimerRepository } from '../../repositories/timer.repository';
import { FireDueTimersUseCase } from './fire-due-timers.usecase';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: '57P01' });

function setup(claim: (n: number) => Promise<TimerRow[]>, fire: (timer: TimerRow) => Promise<void> = async () => {}) {
  const tx = { query: async () => [], run: async () => ({ rows: [], rowCount: 0 }) } as unknown as SqlExecutor;
  const db = { transaction: async <T>(fn: (t: SqlExecutor) => Promise<T>) => fn(tx) } as unknown as Database;
  const logged: string[] = [];
  const log = (_o: unknown, msg: string) => void logged.push(msg);
  const ctx = { db, logger: { warn: log, error: log } } as unknown as ServiceContext;
  const postponed: string[] = [];
  const timers = {
    claimDue: (_tx: SqlExecutor, _now: Date, n: number) => claim(n),
    delete: async () => {},
    postpone: async (_db: SqlExecutor, id: string) => void postponed.push(id),
  } as unknown as TimerRepository;
  const runs = { lock: async () => undefined } as unknown as RunRepository;
  const engine = {} as RunEngine;
  const clock = { now: () => new Date('2026-11-21T12:00:00Z') } as Clock;
  const useCase = new FireDueTimersUseCase(ctx, timers, runs, engine, clock);
  // A timer whose run is gone is just deleted; `fire` is the seam that makes one fail.
  (useCase as unknown as { fire: (t: SqlExecutor, timer: TimerRow) => Promise<void> }).fire = (_t, timer) =>
    fire(timer);
  return { useCase, logged, postponed };
}

const timer = (id: string) => ({ id, run_id: `run-${id}` }) as unknown as TimerRow;

describe('FireDueTimersUseCase', () => {
  it('lets a database outage reach the polling loop (which backs off) instead of spinning one by one', async () => {
    let claims = 0;
    const { useCase, logged, postponed } = setup(async () => {
      claims++;
      throw refused();
    });
    await expect(useCase.execute()).rejects.toThrow('ECONNREFUSED');
    expect(claims).toBe(1);
    expect(logged).toEqual([]);
    expect(postponed).toEqual([]);
  });

  it('stops firing one by one when the database goes away mid-way, without postponing anything', async () => {
    let claims = 0;
    const { useCase, postponed } = setup(
      async () => {
        claims++;
        if (claims === 1) return [timer('1'), timer('2')];
        throw refused();
      },
      async (t) => {
        if (t.id === '2') throw new Error('bad timer');
      },
    );
    await expect(useCase.execute()).rejects.toThrow('ECONNREFUSED');
    expect(claims).toBe(2);
    expect(postponed).toEqual([]);
  });

  it('postpones only the timer that fails by itself and fires the others', async () => {
    const queue = [timer('1'), timer('2'), timer('3')];
    let batch = true;
    const fired: string[] = [];
    const { useCase, postponed } = setup(
      async (n) => {
        if (batch) {
          batch = false;
          return [...queue];
        }
        return queue.splice(0, n);
      },
      async (t) => {
        if (t.id === '2') throw new Error('bad timer');
        fired.push(t.id);
      },
    );
    await expect(useCase.execute()).resolves.toBe(3);
    expect(postponed).toEqual(['2']);
    expect(fired).toEqual(['1', '1', '3']);
  });
});
