import type { ServiceName } from '@hishamos/contracts';

/**
 * The public /v1 prefixes other services own (contracts.md); the gateway forwards them with the
 * caller's signed identity. `x` means `/v1/x` and everything under it; `x/*` only what is under it.
 */
export const EDGE_PREFIXES = {
  orchestrator: ['tasks', 'workflows', 'runs'],
  'usage-metering': ['usage', 'budgets', 'prices', 'subscriptions', 'plans', 'spend'],
  alerting: ['alert-rules', 'alerts', 'notifications', 'channels', 'deliveries', 'alertmanager/*'],
  'feedback-ml': ['executions/:id/feedback', 'feedback', 'quality', 'ml/*', 'suggestions'],
} as const satisfies Partial<Record<ServiceName, readonly string[]>>;

export type EdgeService = keyof typeof EDGE_PREFIXES;

/** Route paths (find-my-way syntax) for a service's prefixes. */
export function edgeRoutePaths(service: EdgeService): string[] {
  return EDGE_PREFIXES[service].flatMap((p: string) =>
    p.endsWith('/*') || p.includes(':') ? [`v1/${p}`] : [`v1/${p}`, `v1/${p}/*`],
  );
}
