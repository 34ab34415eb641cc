import { Injectable } from '@nestjs/common';

/** Wakes this replica's SSE streams when one of their runs got new events (others poll). */
@Injectable()
export class RunEventNotifier {
  private readonly listeners = new Map<string, Set<() => void>>();
  /** Set while the service shuts down: open streams end (clients resume with Last-Event-ID elsewhere). */
  closing = false;

  shutdown(): void {
    this.closing = true;
    for (const set of this.listeners.values()) for (const l of [...set]) l();
  }

  notify(runIds: Iterable<string>): void {
    for (const id of runIds) for (const l of this.listeners.get(id) ?? []) l();
  }

  /** Resolves on the run's next event or after `ms`, whichever comes first. */
  wait(runId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.listeners.get(runId) ?? new Set();
      this.listeners.set(runId, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.listeners.delete(runId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }
}
