import { Inject, Injectable } from '@nestjs/common';
import { connectionErrorKind, transactionWithHooks } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { Clock } from '../../engine/clock';
import { RunEngine } from '../../engine/run-engine';
import { Work } from '../../engine/work';
import { RunRepository } from '../../repositories/run.repository';
import type { TimerRow } from '../../repositories/rows';
import { TimerRepository } from '../../repositories/timer.repository';

const BATCH = 50;

/**
 * Fires due timers (retry backoffs, attempt timeouts, approval timeouts, run timeouts). Each replica polls;
 * FOR UPDATE SKIP LOCKED gives each timer to one of them. The timers live in the database, so they survive
 * a crash: a restarted replica fires whatever fell due while it was down.
 */
@Injectable()
export class FireDueTimersUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly timers: TimerRepository,
    private readonly runs: RunRepository,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
  ) {}

  /** Fires up to one batch; returns how many timers were handled. */
  async execute(): Promise<number> {
    try {
      return await transactionWithHooks(this.ctx.db, async (tx) => {
        const due = await this.timers.claimDue(tx, this.clock.now(), BATCH);
        // Runs are locked in one order (by id) by every replica's batch, so two batches cannot deadlock.
        due.sort((a, b) => (a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : Number(a.id) - Number(b.id)));
        for (const timer of due) await this.fire(tx, timer);
        return due.length;
      });
    } catch (error) {
      // The database is unreachable: nothing to fire one by one; the polling loop backs off and tries again.
      if (connectionErrorKind(error) !== 'none') throw error;
      // One bad timer must not block the others: fire them one per transaction, postpone the failing one.
      this.ctx.logger.warn({ err: error }, 'timer batch failed; firing one at a time');
      return this.oneByOne();
    }
  }

  private async fire(tx: SqlExecutor, timer: TimerRow): Promise<void> {
    const run = await this.runs.lock(tx, timer.run_id);
    if (run) {
      const w = new Work(tx, this.clock.now());
      await this.engine.onTimer(w, run, timer);
      await this.engine.flush(w);
    }
    await this.timers.delete(tx, [timer.id]);
  }

  private async oneByOne(): Promise<number> {
    let n = 0;
    for (let i = 0; i < BATCH; i++) {
      let failed: TimerRow | undefined;
      const handled = await transactionWithHooks(this.ctx.db, async (tx) => {
        const [timer] = await this.timers.claimDue(tx, this.clock.now(), 1);
        if (!timer) return false;
        failed = timer;
        await this.fire(tx, timer);
        failed = undefined;
        return true;
      }).catch((error: unknown) => {
        // Not this timer's fault (the claim itself failed, or the database went away): stop and back off.
        if (!failed || connectionErrorKind(error) !== 'none') throw error;
        this.ctx.logger.error({ err: error, timer: failed?.id, run: failed?.run_id }, 'timer failed; postponed 60 s');
        return 'failed' as const;
      });
      if (handled === false) break;
      if (handled === 'failed' && failed) {
        await this.timers.postpone(this.ctx.db, failed.id, new Date(this.clock.now().getTime() + 60000));
      }
      n++;
    }
    return n;
  }
}
