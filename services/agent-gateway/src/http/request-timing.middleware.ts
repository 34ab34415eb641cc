import { performance } from 'node:perf_hooks';
import { Injectable, type NestMiddleware } from '@nestjs/common';

const STARTED = Symbol('hishamos.requestStarted');

type Timed = { [STARTED]?: number };

/** Stamps when a request arrived (before authentication), for hishamos_gateway_overhead_seconds. */
@Injectable()
export class RequestTimingMiddleware implements NestMiddleware {
  use(req: unknown, _res: unknown, next: () => void): void {
    (req as Timed)[STARTED] = performance.now();
    next();
  }
}

/** When the request arrived (performance.now() time), or now when it was not stamped. */
export function requestStarted(raw: unknown): number {
  return (raw as Timed)[STARTED] ?? performance.now();
}
