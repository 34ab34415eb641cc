import { join } from 'node:path';
import { loadCatalog, type CommandSeed, type OutputSchema } from '@hishamos/catalog';
import { REPO_ROOT } from '@hishamos/platform';

export interface CommandInfo {
  outputSchema: OutputSchema;
  difficulty: number;
  template: string;
}

/**
 * The command library as feedback-ml needs it (output schemas, difficulty, template text), read from
 * the seeds: a service never reads another's tables.
 */
export class CommandCatalog {
  private readonly commands = new Map<string, CommandSeed>();

  constructor(seedsDir = join(REPO_ROOT, 'seeds')) {
    const catalog = loadCatalog(seedsDir);
    for (const [agent, list] of Object.entries(catalog.commands)) {
      for (const c of list) this.commands.set(`${agent}/${c.name}`, c);
    }
  }

  get(agent: string, command: string): CommandInfo | undefined {
    const c = this.commands.get(`${agent}/${command}`);
    return c ? { outputSchema: c.output_schema, difficulty: c.difficulty, template: c.template } : undefined;
  }
}
