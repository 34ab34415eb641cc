import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { WorkflowSeed } from '@hishamos/catalog';
import type { SqlExecutor } from '@hishamos/persistence';
import type { CompiledWorkflow } from '../definitions/compiled-workflow';
import { RunRepository } from '../repositories/run.repository';
import type { RunKind, RunRow } from '../repositories/rows';
import { Clock } from './clock';
import { RunEngine } from './run-engine';
import { currentTraceContext } from './run-trace';
import { Work } from './work';

export interface NewRunRequest {
  kind: RunKind;
  definition: CompiledWorkflow;
  /** Tasks keep their one-step definition inline; workflows reference their version. */
  inline?: WorkflowSeed;
  inputs: Record<string, unknown>;
  userId: string;
  teamId?: string;
  taskId?: string;
  priority: number;
  /** Idempotency: the same (source, sourceId) creates one run. */
  source: string;
  sourceId: string;
}

/** Records a new run (queued, all steps pending) in the caller's transaction; idempotent by source. */
@Injectable()
export class RunCreator {
  constructor(
    private readonly runs: RunRepository,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
  ) {}

  async create(tx: SqlExecutor, req: NewRunRequest): Promise<{ run: RunRow; created: boolean }> {
    const now = this.clock.now();
    const id = randomUUID();
    const def = req.definition;
    const inserted = await this.runs.insert(
      tx,
      {
        id,
        kind: req.kind,
        workflow_id: def.id,
        workflow_version: def.version,
        workflow_name: def.name,
        definition: req.inline ?? null,
        user_id: req.userId,
        team_id: req.teamId ?? null,
        task_id: req.taskId ?? null,
        priority: req.priority,
        inputs: req.inputs,
        source: req.source,
        source_id: req.sourceId,
        timeout_seconds: def.timeoutSeconds,
        created_at: now,
        // The trace the run was asked for in: what it causes later is published in child spans of it.
        ...currentTraceContext(),
      },
      def.steps.map((s) => ({
        step_id: s.id,
        position: s.position,
        kind: s.kind,
        agent: s.agent ?? null,
        command: s.command ?? null,
        max_attempts: s.retry.maxAttempts,
        attempt_timeout_seconds: s.attemptTimeoutSeconds || 1,
      })),
      { kind: req.kind, priority: req.priority },
    );
    if (!inserted) {
      const existing = await this.runs.bySource(tx, req.source, req.sourceId);
      if (!existing) throw new Error(`run for ${req.source}/${req.sourceId} vanished`);
      return { run: existing, created: false };
    }
    // Its `queued` event is written by the same statement; after the commit, the scheduler and SSE readers look.
    const w = new Work(tx, now);
    w.onCommit(() => this.engine.notifyRuns([inserted.id]));
    w.queuedWork = true;
    await this.engine.flush(w);
    return { run: inserted, created: true };
  }
}
