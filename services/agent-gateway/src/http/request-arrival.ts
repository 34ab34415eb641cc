import { performance } from 'node:perf_hooks';

const STARTED = Symbol('hishamos.requestStarted');

type Timed = { [STARTED]?: number };

/**
 * Stamps when a request arrived (before routing and authentication), for
 * hishamos_gateway_overhead_seconds: a 'request' listener put ahead of the HTTP framework's.
 */
export function stampRequestArrival(req: unknown): void {
  (req as Timed)[STARTED] = performance.now();
}

/** When the request arrived (performance.now() time), or now when it was not stamped. */
export function requestStarted(raw: unknown): number {
  return (raw as Timed)[STARTED] ?? performance.now();
}
