import { Topics } from '@hishamos/contracts';
import type { ServiceDefinition } from '@hishamos/platform';
import { SecretsSettings } from './config/secrets.settings';
import { SecretsModule } from './secrets.module';
import { SecretsScheduler } from './secrets.scheduler';

export const definition: ServiceDefinition = {
  name: 'secrets',
  consumes: [],
  publishes: [Topics.SecretRotated, Topics.AuditRecorded],
  settings: SecretsSettings,
  module: SecretsModule,
  async onStart(_ctx, app) {
    app.get(SecretsScheduler).start();
  },
};

export { SecretsSettings } from './config/secrets.settings';
