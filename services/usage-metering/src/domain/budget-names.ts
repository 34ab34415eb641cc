import type { Period } from './periods';
import { periodAdjective } from './periods';

/** How a person reads a budget: "the daily budget of user u-1", "the monthly global budget". */
export function describeBudget(scope: string, scopeId: string, period: Period): string {
  const adjective = periodAdjective(period);
  return scope === 'global' ? `the ${adjective} global budget` : `the ${adjective} budget of ${scope} ${scopeId}`;
}
