import { performance } from 'node:perf_hooks';

/** Wall-clock epoch milliseconds with sub-millisecond resolution (comparable across one process). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class TimeoutError extends Error {
  /** `limitMs`: the limit that was exceeded, for the message (omitted: "before its deadline"). */
  constructor(what: string, limitMs?: number) {
    super(
      `${what} did not complete ${limitMs === undefined ? 'before its deadline' : `within ${Math.round(limitMs / 100) / 10} s`}`,
    );
    this.name = 'TimeoutError';
  }
}

/** Throws a TimeoutError once `deadline` (epoch ms) has passed: for loops that do their own work. */
export function checkDeadline(deadline: number, what: string): void {
  if (Date.now() > deadline) throw new TimeoutError(what);
}

/** Rejects with a TimeoutError when `promise` takes longer than `ms`. The timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `intervalMs` until it returns true; rejects once `deadline` (epoch ms) passes. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  deadline: number,
  intervalMs = 5,
): Promise<void> {
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new TimeoutError(what);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
