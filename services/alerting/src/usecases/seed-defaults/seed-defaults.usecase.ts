import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { settingsOf, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ChannelRegistry } from '../../channels/channel-registry';
import type { AlertingSettings } from '../../config/alerting.settings';
import { DEFAULT_RULES, defaultChannels } from '../../domain/default-rules';
import { compileRule } from '../../domain/rule-definition';
import { RuleCache } from '../../engine/rule-cache';
import { ChannelsRepository } from '../../repositories/channels.repository';
import { RulesRepository } from '../../repositories/rules.repository';

export class SeedDefaultsCommand {}

/**
 * Seeds the default channels and rules, each exactly once across restarts and replicas (a marker row
 * per default, inserted in the same transaction): an operator's edits stay, and a default an operator
 * deleted does not come back.
 */
@Injectable()
export class SeedDefaultsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly rules: RulesRepository,
    private readonly channels: ChannelsRepository,
    private readonly registry: ChannelRegistry,
    private readonly cache: RuleCache,
  ) {}

  async execute(_command: SeedDefaultsCommand): Promise<{ channels: string[]; rules: string[] }> {
    const settings = settingsOf<AlertingSettings>(this.ctx);
    const seeded = { channels: [] as string[], rules: [] as string[] };
    for (const c of defaultChannels(settings)) {
      const config = this.registry.get(c.type).validateConfig(c.config);
      const done = await this.ctx.db.transaction(async (tx) => {
        if (!(await this.rules.markSeeded(tx, 'channel', c.name))) return false;
        const row = await this.channels.insert(tx, {
          id: randomUUID(),
          name: c.name,
          type: c.type,
          config,
          secretPath: c.secretPath,
          enabled: true,
          builtin: true,
        });
        return row !== undefined;
      });
      if (done) seeded.channels.push(c.name);
    }
    const names = await this.channels.names();
    for (const def of DEFAULT_RULES) {
      // A default whose channel an operator removed is skipped (and retried at the next boot).
      if (!def.channels.every((c) => names.has(c))) continue;
      compileRule(def, names);
      const done = await this.ctx.db.transaction(async (tx) => {
        if (!(await this.rules.markSeeded(tx, 'rule', def.name))) return false;
        return (await this.rules.insert(tx, randomUUID(), def, { builtin: true, actor: 'seed' })) !== undefined;
      });
      if (done) seeded.rules.push(def.name);
    }
    if (seeded.channels.length || seeded.rules.length) {
      this.cache.invalidate();
      this.ctx.logger.info(seeded, 'default alerting channels and rules seeded');
    }
    return seeded;
  }
}
