import { join } from 'node:path';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { REPO_ROOT } from '@hishamos/platform';

/**
 * The orchestrator's own environment (validated at boot). The concurrency limits themselves are the
 * platform's MAX_CONCURRENT_WORKFLOWS and MAX_CONCURRENT_TASKS_PER_AGENT, together with each agent's
 * max_concurrent_tasks from seeds/agents.
 */
export class OrchestratorSettings {
  /** The seeds directory: agents (their limits), commands (input schemas) and workflow templates. */
  @IsString()
  ORCHESTRATOR_SEEDS_DIR = join(REPO_ROOT, 'seeds');

  /** How often each replica looks for queued work that nobody woke it for (another replica freed a slot). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(60000)
  ORCHESTRATOR_SCHEDULER_POLL_MS = 250;

  /** How often each replica polls for due timers (retries, timeouts, approvals). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(60000)
  ORCHESTRATOR_TIMER_POLL_MS = 250;

  /** Attempts of a step that declares no retry policy (tasks included). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  ORCHESTRATOR_DEFAULT_MAX_ATTEMPTS = 3;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  ORCHESTRATOR_DEFAULT_BACKOFF_MS = 1000;

  /** The longest wait between two attempts, whatever the policy's multiplier. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ORCHESTRATOR_MAX_BACKOFF_MS = 600000;

  /** Per-attempt timeout of a step that declares none. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  ORCHESTRATOR_DEFAULT_ATTEMPT_TIMEOUT_SECONDS = 600;

  /** Whole-run timeout of a task, and of a workflow that declares none (counted from the run's start). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  ORCHESTRATOR_DEFAULT_RUN_TIMEOUT_SECONDS = 7200;

  /**
   * An attempt abandoned by a timeout or a cancellation may still be running at the gateway; it keeps its
   * agent slot (and its run its workflow slot) until its result arrives, or else until this long after its
   * deadline (the gateway starts nothing after it) or after now, whichever is later, so the limits hold at the
   * gateway too.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ORCHESTRATOR_ABANDONED_SLOT_SECONDS = 30;

  /**
   * Kafka partitions of each consumed topic (task requests, execution results) handled at the same time by
   * one replica; each holds a database connection while it runs, so keep it well below DATABASE_POOL_SIZE.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(32)
  ORCHESTRATOR_CONSUMER_CONCURRENCY = 4;
}
