import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { IsNotEmpty, IsString } from 'class-validator';
import { loadCatalog, type AgentSeed, type CommandSeed } from '@hishamos/catalog';
import type { SqlExecutor } from '@hishamos/persistence';
import { REPO_ROOT, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { toValidCommand } from '../../assert-valid';
import { CatalogRepository, type SeededAgentState, type SeededCommandState } from '../../catalog.repository';
import { contentHash, templateContentHash } from '../../content-hash';
import { PRODUCTION, SEED, SEED_ACTOR } from '../../template-labels';

export class SeedCatalogCommand {
  /** The seeds directory (agents/, commands/, workflows/); `<repo>/seeds` by default. */
  @IsString()
  @IsNotEmpty()
  seedsDir: string = join(REPO_ROOT, 'seeds');
}

export interface SeedCatalogReport {
  agents: { created: string[]; updated: string[]; unchanged: number; keptAdmin: string[] };
  commands: {
    created: string[];
    /** Commands whose seed text changed: a new version was written (`agent/command@version`). */
    versioned: string[];
    metadataUpdated: string[];
    unchanged: number;
    /** New seed versions that did not become `production` because an admin holds that label. */
    productionKept: string[];
  };
}

const agentHash = (agent: AgentSeed): string => contentHash(agent);
const commandMetaHash = (command: CommandSeed): string =>
  contentHash({ category: command.category, description: command.description, difficulty: command.difficulty });

/**
 * Seeds the catalog tables from seeds/ (validated by libs/catalog; a seed with problems is refused,
 * nothing is written). Idempotent: an unchanged seed writes nothing. The rules:
 *
 * - Agents: inserted; updated when their seed changed, unless an admin changed the agent (source 'admin').
 * - A new command: inserted with version 1 labelled `production`, `latest` and `seed`.
 * - A command whose template or schemas changed in the seed: a NEW version (never an edit), labelled
 *   `seed` and `latest`. It also becomes `production` only when the seeder itself put `production`
 *   where it is now. Once an admin (or anyone but the seeder) moved `production` — an admin version,
 *   a rollback, or pinning a version — the seeder never moves it again; the report lists these.
 * - Metadata (category, description, difficulty) follows the seed for seeded commands.
 * - Nothing is deleted: a command that left the seeds keeps its versions and labels.
 * - Versions are never updated; one transaction under an advisory lock, so replicas seeding at the
 *   same time write once.
 */
@Injectable()
export class SeedCatalogUseCase {
  constructor(
    private readonly catalog: CatalogRepository,
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
  ) {}

  async execute(input: SeedCatalogCommand | { seedsDir?: string }): Promise<SeedCatalogReport> {
    const command = toValidCommand(SeedCatalogCommand, input);
    const seeds = loadCatalog(command.seedsDir);
    return this.ctx.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, ['hishamos:catalog-seed']);
      const report: SeedCatalogReport = {
        agents: { created: [], updated: [], unchanged: 0, keptAdmin: [] },
        commands: { created: [], versioned: [], metadataUpdated: [], unchanged: 0, productionKept: [] },
      };
      const agents = new Map<string, SeededAgentState>((await this.catalog.seededAgents(tx)).map((a) => [a.slug, a]));
      for (const agent of seeds.agents) {
        const hash = agentHash(agent);
        const existing = agents.get(agent.slug);
        if (existing?.source === 'admin') {
          report.agents.keptAdmin.push(agent.slug);
          continue;
        }
        if (existing?.seedHash === hash) {
          report.agents.unchanged++;
          continue;
        }
        await this.catalog.upsertSeedAgent(agent, hash, tx);
        (existing ? report.agents.updated : report.agents.created).push(agent.slug);
      }
      const commands = new Map<string, SeededCommandState>(
        (await this.catalog.seededCommands(tx)).map((c) => [`${c.agent}/${c.name}`, c]),
      );
      for (const [agent, list] of Object.entries(seeds.commands)) {
        for (const seed of list) await this.seedCommand(agent, seed, commands.get(`${agent}/${seed.name}`), report, tx);
      }
      return report;
    });
  }

  private async seedCommand(
    agent: string,
    seed: CommandSeed,
    existing: SeededCommandState | undefined,
    report: SeedCatalogReport,
    tx: SqlExecutor,
  ): Promise<void> {
    const key = `${agent}/${seed.name}`;
    const metaHash = commandMetaHash(seed);
    const version = {
      agent,
      command: seed.name,
      template: seed.template,
      inputSchema: seed.input_schema,
      outputSchema: seed.output_schema,
      createdBy: SEED_ACTOR,
      source: 'seed' as const,
    };
    if (!existing) {
      await this.catalog.insertSeedCommand(agent, seed, metaHash, tx);
      await this.catalog.createVersion({ ...version, note: 'from seeds', labels: [SEED, PRODUCTION] }, tx);
      report.commands.created.push(key);
      return;
    }
    let changed = false;
    if (existing.source === 'seed' && existing.seedHash !== metaHash) {
      await this.catalog.updateSeedCommandMetadata(agent, seed, metaHash, tx);
      report.commands.metadataUpdated.push(key);
      changed = true;
    }
    if (existing.seedContentHash !== templateContentHash(seed.template, seed.input_schema, seed.output_schema)) {
      const seedOwnsProduction = existing.productionUpdatedBy === null || existing.productionUpdatedBy === SEED_ACTOR;
      const labels = seedOwnsProduction ? [SEED, PRODUCTION] : [SEED];
      const created = await this.catalog.createVersion({ ...version, note: 'seed changed', labels }, tx);
      report.commands.versioned.push(`${key}@${created?.version}`);
      if (!seedOwnsProduction) report.commands.productionKept.push(key);
      changed = true;
    }
    if (!changed) report.commands.unchanged++;
  }
}
