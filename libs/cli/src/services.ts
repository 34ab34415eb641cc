import type { ServiceDefinition } from '@hishamos/platform';
import { definition as agentGateway } from '@hishamos/agent-gateway';
import { definition as orchestrator } from '@hishamos/orchestrator';
import { definition as usageMetering } from '@hishamos/usage-metering';
import { definition as alerting } from '@hishamos/alerting';
import { definition as feedbackMl } from '@hishamos/feedback-ml';
import { definition as secrets } from '@hishamos/secrets';

/** All six services; `secrets` first so the others can read their credentials at start. */
export const ALL_SERVICES: ServiceDefinition[] = [
  secrets,
  usageMetering,
  agentGateway,
  orchestrator,
  alerting,
  feedbackMl,
];
