/** The six services, their schemas (slices) and default ports. */
export const SERVICES = {
  'agent-gateway': { schema: 'agent_gateway', port: 8080 },
  orchestrator: { schema: 'orchestrator', port: 8081 },
  'usage-metering': { schema: 'usage_metering', port: 8082 },
  alerting: { schema: 'alerting', port: 8083 },
  'feedback-ml': { schema: 'feedback_ml', port: 8084 },
  secrets: { schema: 'secrets', port: 8085 },
} as const;

export type ServiceName = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];
