import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'hishamos');
export const PRODUCTION_VALUES = join(CHART_DIR, 'values-production.yaml');
export const DEV_VALUES = join(REPO_ROOT, 'deploy', 'k8s', 'values-dev.yaml');
export const RULES_DIR = join(REPO_ROOT, 'deploy', 'prometheus', 'rules');
export const CHART_RULES_DIR = join(CHART_DIR, 'files', 'prometheus-rules');
export const HELM_BIN = join(REPO_ROOT, '.hishamos', 'tools', 'bin', 'helm');

/** The six services and the port each listens on (the chart's defaults). */
export const SERVICES = {
  'agent-gateway': 8080,
  orchestrator: 8081,
  'usage-metering': 8082,
  alerting: 8083,
  'feedback-ml': 8084,
  secrets: 8085,
} as const;
export type ServiceName = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];
