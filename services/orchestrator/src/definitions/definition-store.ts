import { Injectable } from '@nestjs/common';
import type { WorkflowSeed } from '@hishamos/catalog';
import type { SqlExecutor } from '@hishamos/persistence';
import { OrchestratorSettings } from '../config/orchestrator.settings';
import { WorkflowDefinitionRepository } from '../repositories/workflow-definition.repository';
import type { RunRow } from '../repositories/rows';
import { compileWorkflow, type CompiledWorkflow, type StepDefaults } from './compiled-workflow';

/** Compiled definition versions, cached forever (a version never changes once stored). */
@Injectable()
export class DefinitionStore {
  private readonly cache = new Map<string, CompiledWorkflow>();

  constructor(
    private readonly repo: WorkflowDefinitionRepository,
    private readonly settings: OrchestratorSettings,
  ) {}

  defaults(): StepDefaults {
    return {
      maxAttempts: this.settings.ORCHESTRATOR_DEFAULT_MAX_ATTEMPTS,
      backoffMs: this.settings.ORCHESTRATOR_DEFAULT_BACKOFF_MS,
      attemptTimeoutSeconds: this.settings.ORCHESTRATOR_DEFAULT_ATTEMPT_TIMEOUT_SECONDS,
      runTimeoutSeconds: this.settings.ORCHESTRATOR_DEFAULT_RUN_TIMEOUT_SECONDS,
    };
  }

  compile(seed: WorkflowSeed): CompiledWorkflow {
    return compileWorkflow(seed, this.defaults());
  }

  /** The definition a run runs: its own inline one (tasks) or the workflow version it started with. */
  async forRun(
    db: SqlExecutor,
    run: Pick<RunRow, 'kind' | 'definition' | 'workflow_id' | 'workflow_version'>,
  ): Promise<CompiledWorkflow> {
    if (run.kind === 'task') return this.compile(run.definition as WorkflowSeed);
    return this.version(db, run.workflow_id, run.workflow_version);
  }

  async version(db: SqlExecutor, id: string, version: number): Promise<CompiledWorkflow> {
    const key = `${id}@${version}`;
    let compiled = this.cache.get(key);
    if (!compiled) {
      const row = await this.repo.byVersion(db, id, version);
      if (!row) throw new Error(`workflow definition ${key} not found`);
      compiled = this.compile(row.definition as unknown as WorkflowSeed);
      this.cache.set(key, compiled);
    }
    return compiled;
  }
}
