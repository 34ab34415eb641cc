import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';

/** The orchestrator's Prometheus series (no user ids as labels). */
@Injectable()
export class OrchestratorMetrics {
  readonly duration: Histogram;
  readonly events: Counter;
  private sampler?: () => Promise<{ running: number; queued: number; queuedSteps: number; slots: Map<string, number> }>;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    const registers = [ctx.metrics.registry];
    this.duration = new Histogram({
      name: 'hishamos_workflow_duration_seconds',
      help: 'Duration of finished workflow runs (tasks are workflow="task"), from start to end',
      labelNames: ['workflow', 'status'],
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400],
      registers,
    });
    this.events = new Counter({
      name: 'hishamos_workflow_events_total',
      help: 'Workflow events published, by kind',
      labelNames: ['kind'],
      registers,
    });
    const sample = async () => (this.sampler ? this.sampler() : undefined);
    let last: Awaited<ReturnType<typeof sample>> | undefined;
    let lastAt = 0;
    // One database read per scrape for all gauges.
    const current = async () => {
      if (Date.now() - lastAt > 500) {
        last = await sample().catch(() => undefined);
        lastAt = Date.now();
      }
      return last;
    };
    new Gauge({
      name: 'hishamos_workflow_runs_active',
      help: 'Workflow runs running now (all replicas; bounded by MAX_CONCURRENT_WORKFLOWS)',
      registers,
      async collect() {
        const s = await current();
        if (s) this.set(s.running);
      },
    });
    new Gauge({
      name: 'hishamos_workflow_runs_queued',
      help: 'Workflow runs waiting for a slot',
      registers,
      async collect() {
        const s = await current();
        if (s) this.set(s.queued);
      },
    });
    new Gauge({
      name: 'hishamos_workflow_steps_queued',
      help: 'Steps ready to run, waiting for an agent slot',
      registers,
      async collect() {
        const s = await current();
        if (s) this.set(s.queuedSteps);
      },
    });
    new Gauge({
      name: 'hishamos_workflow_agent_slots_in_use',
      help: 'Executions in flight per agent (bounded by the agent limit)',
      labelNames: ['agent'],
      registers,
      async collect() {
        const s = await current();
        if (!s) return;
        this.reset();
        for (const [agent, n] of s.slots) this.set({ agent }, n);
      },
    });
  }

  /** Where the gauges read from (the database, shared by every replica). */
  setSampler(sampler: NonNullable<OrchestratorMetrics['sampler']>): void {
    this.sampler = sampler;
  }

  runFinished(workflow: string, status: string, seconds: number): void {
    this.duration.observe({ workflow, status }, Math.max(0, seconds));
  }

  eventPublished(kind: string): void {
    this.events.inc({ kind });
  }
}
