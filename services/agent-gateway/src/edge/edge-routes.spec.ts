import { edgeRoutePaths, EDGE_PREFIXES } from './edge-routes';

describe('edge routes', () => {
  it('covers each prefix and everything under it', () => {
    expect(edgeRoutePaths('orchestrator')).toEqual([
      'v1/tasks',
      'v1/tasks/*',
      'v1/workflows',
      'v1/workflows/*',
      'v1/runs',
      'v1/runs/*',
    ]);
    expect(edgeRoutePaths('alerting')).toContain('v1/alertmanager/*');
    expect(edgeRoutePaths('alerting')).not.toContain('v1/alertmanager');
    expect(edgeRoutePaths('feedback-ml')).toContain('v1/executions/:id/feedback');
    expect(Object.keys(EDGE_PREFIXES).sort()).toEqual(['alerting', 'feedback-ml', 'orchestrator', 'usage-metering']);
  });
});
