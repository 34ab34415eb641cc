import { Topics } from '@hishamos/contracts';
import type { ServiceDefinition } from '@hishamos/platform';
import { SecretsModule } from './secrets.module';

export const definition: ServiceDefinition = {
  name: 'secrets',
  consumes: [],
  publishes: [Topics.SecretRotated, Topics.AuditRecorded],
  module: SecretsModule,
};
