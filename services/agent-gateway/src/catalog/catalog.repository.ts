import { Inject, Injectable } from '@nestjs/common';
import type {
  AgentCategory,
  AgentSeed,
  CommandCategory,
  CommandSeed,
  InputSchema,
  OutputSchema,
} from '@hishamos/catalog';
import type { Database, SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type {
  CatalogAgent,
  CatalogCommand,
  CatalogSource,
  CommandSummary,
  LabelMove,
  NewTemplateVersion,
  TemplateSource,
  TemplateVersion,
  VersionSelector,
} from './catalog.types';
import { templateContentHash } from './content-hash';
import { LATEST, PRODUCTION } from './template-labels';

interface AgentRow {
  slug: string;
  name: string;
  category: AgentCategory;
  system_prompt: string;
  capabilities: string[];
  default_provider: string;
  default_model: string;
  max_concurrent_tasks: number;
  enabled: boolean;
  source: CatalogSource;
  seed_hash: string | null;
  updated_at: Date | string;
}

interface CommandRow {
  agent: string;
  name: string;
  category: CommandCategory;
  description: string;
  difficulty: number;
  input_schema: InputSchema;
  output_schema: OutputSchema;
  enabled: boolean;
  source: CatalogSource;
  labels: Record<string, number> | null;
}

interface VersionRow {
  id: string;
  agent: string;
  command: string;
  version: number;
  template: string;
  input_schema: InputSchema;
  output_schema: OutputSchema;
  content_hash: string;
  created_by: string;
  source: TemplateSource;
  note: string | null;
  created_at: Date | string;
  labels: string[] | null;
}

/** What the seeder needs to know about a command that already exists. */
export interface SeededCommandState {
  agent: string;
  name: string;
  source: CatalogSource;
  seedHash: string | null;
  /** Content hash of the version labelled `seed` (the last one the seeder wrote), if any. */
  seedContentHash: string | null;
  /** Who put `production` where it is (SEED_ACTOR when the seeder did). */
  productionUpdatedBy: string | null;
}

export interface SeededAgentState {
  slug: string;
  source: CatalogSource;
  seedHash: string | null;
}

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

function toAgent(row: AgentRow): CatalogAgent {
  return {
    slug: row.slug,
    name: row.name,
    category: row.category,
    systemPrompt: row.system_prompt,
    capabilities: row.capabilities,
    defaultProvider: row.default_provider,
    defaultModel: row.default_model,
    maxConcurrentTasks: row.max_concurrent_tasks,
    enabled: row.enabled,
    source: row.source,
    updatedAt: iso(row.updated_at),
  };
}

function toSummary(row: CommandRow): CommandSummary {
  return {
    agent: row.agent,
    name: row.name,
    category: row.category,
    description: row.description,
    difficulty: row.difficulty,
    enabled: row.enabled,
    source: row.source,
    labels: row.labels ?? {},
    inputSchema: row.input_schema,
    outputSchema: row.output_schema,
  };
}

function toVersion(row: VersionRow): TemplateVersion {
  return {
    id: row.id,
    agent: row.agent,
    command: row.command,
    version: row.version,
    template: row.template,
    inputSchema: row.input_schema,
    outputSchema: row.output_schema,
    contentHash: row.content_hash,
    createdBy: row.created_by,
    source: row.source,
    note: row.note,
    createdAt: iso(row.created_at),
    labels: [...(row.labels ?? [])].sort(),
  };
}

const AGENT_COLUMNS = `slug, name, category, system_prompt, capabilities, default_provider, default_model,
  max_concurrent_tasks, enabled, source, seed_hash, updated_at`;

const COMMAND_SELECT = `
  SELECT c.agent, c.name, c.category, c.description, c.difficulty, c.input_schema, c.output_schema, c.enabled, c.source,
         (SELECT jsonb_object_agg(l.label, l.version) FROM template_labels l
           WHERE l.agent = c.agent AND l.command = c.name) AS labels
    FROM command_templates c`;

const VERSION_SELECT = `
  SELECT v.id, v.agent, v.command, v.version, v.template, v.input_schema, v.output_schema, v.content_hash,
         v.created_by, v.source, v.note, v.created_at,
         ARRAY(SELECT l.label FROM template_labels l
                WHERE l.agent = v.agent AND l.command = v.command AND l.version = v.version ORDER BY l.label) AS labels
    FROM template_versions v`;

/**
 * The agents, command templates, their immutable versions and labels (migrations/agent-gateway/0010).
 * Methods that write take an optional transaction; without one they open their own.
 */
@Injectable()
export class CatalogRepository {
  private readonly db: Database;

  constructor(@Inject(SERVICE_CONTEXT) ctx: Pick<ServiceContext, 'db'>) {
    this.db = ctx.db;
  }

  /** Runs `fn` in the caller's transaction when given one, else in a new one. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, tx?: SqlExecutor): Promise<T> {
    return tx ? fn(tx) : this.db.transaction(fn);
  }

  // ---------------------------------------------------------------- agents

  async listAgents(ex: SqlExecutor = this.db): Promise<CatalogAgent[]> {
    const rows = await ex.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents ORDER BY slug`);
    return rows.map(toAgent);
  }

  async getAgent(slug: string, ex: SqlExecutor = this.db): Promise<CatalogAgent | undefined> {
    const [row] = await ex.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE slug = $1`, [slug]);
    return row ? toAgent(row) : undefined;
  }

  async seededAgents(ex: SqlExecutor = this.db): Promise<SeededAgentState[]> {
    const rows = await ex.query<{ slug: string; source: CatalogSource; seed_hash: string | null }>(
      `SELECT slug, source, seed_hash FROM agents`,
    );
    return rows.map((r) => ({ slug: r.slug, source: r.source, seedHash: r.seed_hash }));
  }

  /** Inserts the agent from its seed, or updates it when it is still the seeder's (source 'seed'). */
  async upsertSeedAgent(seed: AgentSeed, seedHash: string, ex: SqlExecutor): Promise<void> {
    await ex.query(
      `INSERT INTO agents (slug, name, category, system_prompt, capabilities, default_provider, default_model,
                           max_concurrent_tasks, source, seed_hash)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, 'seed', $9)
       ON CONFLICT (slug) DO UPDATE SET
         name = EXCLUDED.name, category = EXCLUDED.category, system_prompt = EXCLUDED.system_prompt,
         capabilities = EXCLUDED.capabilities, default_provider = EXCLUDED.default_provider,
         default_model = EXCLUDED.default_model, max_concurrent_tasks = EXCLUDED.max_concurrent_tasks,
         seed_hash = EXCLUDED.seed_hash, updated_at = now()
       WHERE agents.source = 'seed'`,
      [
        seed.slug,
        seed.name,
        seed.category,
        seed.system_prompt,
        JSON.stringify(seed.capabilities),
        seed.default_provider,
        seed.default_model,
        seed.max_concurrent_tasks,
        seedHash,
      ],
    );
  }

  // ---------------------------------------------------------------- commands

  async listCommands(agentSlug?: string, ex: SqlExecutor = this.db): Promise<CommandSummary[]> {
    const rows = await ex.query<CommandRow>(
      `${COMMAND_SELECT} WHERE ($1::text IS NULL OR c.agent = $1) ORDER BY c.agent, c.name`,
      [agentSlug ?? null],
    );
    return rows.map(toSummary);
  }

  async getCommandSummary(agent: string, name: string, ex: SqlExecutor = this.db): Promise<CommandSummary | undefined> {
    const [row] = await ex.query<CommandRow>(`${COMMAND_SELECT} WHERE c.agent = $1 AND c.name = $2`, [agent, name]);
    return row ? toSummary(row) : undefined;
  }

  /**
   * A command resolved to one version: `{ version }` exactly, else `{ label }`, else the `production`
   * label. Undefined when the command, the version or the label does not exist.
   */
  async getCommand(
    agent: string,
    name: string,
    selector: VersionSelector = {},
    ex: SqlExecutor = this.db,
  ): Promise<CatalogCommand | undefined> {
    const summary = await this.getCommandSummary(agent, name, ex);
    if (!summary) return undefined;
    const number = selector.version ?? summary.labels[selector.label ?? PRODUCTION];
    if (number === undefined) return undefined;
    const version = await this.getVersion(agent, name, number, ex);
    if (!version) return undefined;
    return {
      agent,
      name,
      category: summary.category,
      description: summary.description,
      difficulty: summary.difficulty,
      enabled: summary.enabled,
      template: version.template,
      inputSchema: version.inputSchema,
      outputSchema: version.outputSchema,
      version: version.version,
      versionId: version.id,
      labels: version.labels,
      source: version.source,
    };
  }

  /** Every command with what the seeder needs to decide what to write (one query). */
  async seededCommands(ex: SqlExecutor = this.db): Promise<SeededCommandState[]> {
    const rows = await ex.query<{
      agent: string;
      name: string;
      source: CatalogSource;
      seed_hash: string | null;
      seed_content_hash: string | null;
      production_updated_by: string | null;
    }>(
      `SELECT c.agent, c.name, c.source, c.seed_hash, v.content_hash AS seed_content_hash,
              p.updated_by AS production_updated_by
         FROM command_templates c
         LEFT JOIN template_labels s ON s.agent = c.agent AND s.command = c.name AND s.label = 'seed'
         LEFT JOIN template_versions v ON v.agent = s.agent AND v.command = s.command AND v.version = s.version
         LEFT JOIN template_labels p ON p.agent = c.agent AND p.command = c.name AND p.label = 'production'`,
    );
    return rows.map((r) => ({
      agent: r.agent,
      name: r.name,
      source: r.source,
      seedHash: r.seed_hash,
      seedContentHash: r.seed_content_hash,
      productionUpdatedBy: r.production_updated_by,
    }));
  }

  /** Inserts a command from its seed (its first version is written separately with createVersion). */
  async insertSeedCommand(agent: string, seed: CommandSeed, seedHash: string, ex: SqlExecutor): Promise<void> {
    await ex.query(
      `INSERT INTO command_templates (agent, name, category, description, difficulty, input_schema, output_schema,
                                      source, seed_hash)
       VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, 'seed', $8)`,
      [
        agent,
        seed.name,
        seed.category,
        seed.description,
        seed.difficulty,
        JSON.stringify(seed.input_schema),
        JSON.stringify(seed.output_schema),
        seedHash,
      ],
    );
  }

  /** Updates a seeded command's metadata (category, description, difficulty); versions are separate. */
  async updateSeedCommandMetadata(agent: string, seed: CommandSeed, seedHash: string, ex: SqlExecutor): Promise<void> {
    await ex.query(
      `UPDATE command_templates SET category = $3, description = $4, difficulty = $5, seed_hash = $6, updated_at = now()
        WHERE agent = $1 AND name = $2 AND source = 'seed'`,
      [agent, seed.name, seed.category, seed.description, seed.difficulty, seedHash],
    );
  }

  // ---------------------------------------------------------------- versions

  async listVersions(agent: string, command: string, ex: SqlExecutor = this.db): Promise<TemplateVersion[]> {
    const rows = await ex.query<VersionRow>(
      `${VERSION_SELECT} WHERE v.agent = $1 AND v.command = $2 ORDER BY v.version DESC`,
      [agent, command],
    );
    return rows.map(toVersion);
  }

  async getVersion(
    agent: string,
    command: string,
    version: number,
    ex: SqlExecutor = this.db,
  ): Promise<TemplateVersion | undefined> {
    const [row] = await ex.query<VersionRow>(
      `${VERSION_SELECT} WHERE v.agent = $1 AND v.command = $2 AND v.version = $3`,
      [agent, command, version],
    );
    return row ? toVersion(row) : undefined;
  }

  /**
   * Writes a new immutable version (the next number) and labels it: `latest` (unless it is a
   * suggestion draft) plus `labels`. Serialised per command by locking its row. Undefined when the
   * command does not exist.
   */
  async createVersion(input: NewTemplateVersion, tx?: SqlExecutor): Promise<TemplateVersion | undefined> {
    return this.transaction(async (ex) => {
      const locked = await ex.query(`SELECT 1 FROM command_templates WHERE agent = $1 AND name = $2 FOR UPDATE`, [
        input.agent,
        input.command,
      ]);
      if (locked.length === 0) return undefined;
      const [{ next }] = await ex.query<{ next: number }>(
        `SELECT COALESCE(MAX(version), 0) + 1 AS next FROM template_versions WHERE agent = $1 AND command = $2`,
        [input.agent, input.command],
      );
      await ex.query(
        `INSERT INTO template_versions (agent, command, version, template, input_schema, output_schema, content_hash,
                                        created_by, source, note)
         VALUES ($1, $2, $3, $4, $5::json, $6::json, $7, $8, $9, $10)`,
        [
          input.agent,
          input.command,
          next,
          input.template,
          JSON.stringify(input.inputSchema),
          JSON.stringify(input.outputSchema),
          templateContentHash(input.template, input.inputSchema, input.outputSchema),
          input.createdBy,
          input.source,
          input.note ?? null,
        ],
      );
      const labels = new Set(input.labels ?? []);
      if (input.source !== 'suggestion') labels.add(LATEST);
      await this.moveLabels(input.agent, input.command, [...labels], next, input.createdBy, ex);
      const created = await this.getVersion(input.agent, input.command, next, ex);
      if (!created) throw new Error(`version ${next} of ${input.agent}/${input.command} vanished after insert`);
      return created;
    }, tx);
  }

  // ---------------------------------------------------------------- labels

  /**
   * Points `label` at `version` (a rollback is moving `production` back). Undefined when the command
   * or the version does not exist.
   */
  async setLabel(
    agent: string,
    command: string,
    label: string,
    version: number,
    movedBy: string,
    tx?: SqlExecutor,
  ): Promise<LabelMove | undefined> {
    return this.transaction(async (ex) => {
      const exists = await ex.query(
        `SELECT 1 FROM template_versions WHERE agent = $1 AND command = $2 AND version = $3`,
        [agent, command, version],
      );
      if (exists.length === 0) return undefined;
      const [move] = await this.moveLabels(agent, command, [label], version, movedBy, ex);
      return move;
    }, tx);
  }

  /** Moves several labels onto one version, records each move, and keeps command_templates' schemas in step with `production`. */
  async moveLabels(
    agent: string,
    command: string,
    labels: string[],
    version: number,
    movedBy: string,
    ex: SqlExecutor,
  ): Promise<LabelMove[]> {
    if (labels.length === 0) return [];
    const rows = await ex.query<{ label: string; from_version: number | null; moved_at: Date | string }>(
      `WITH prev AS (
         SELECT label, version FROM template_labels WHERE agent = $1 AND command = $2 AND label = ANY($3::text[])
       ), moved AS (
         INSERT INTO template_labels (agent, command, label, version, updated_by)
         SELECT $1, $2, l, $4, $5 FROM unnest($3::text[]) AS l
         ON CONFLICT (agent, command, label) DO UPDATE
           SET version = EXCLUDED.version, updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING label
       )
       INSERT INTO template_label_history (agent, command, label, from_version, to_version, moved_by)
       SELECT $1, $2, moved.label, prev.version, $4, $5 FROM moved LEFT JOIN prev ON prev.label = moved.label
       RETURNING label, from_version, moved_at`,
      [agent, command, labels, version, movedBy],
    );
    if (labels.includes(PRODUCTION)) {
      await ex.query(
        `UPDATE command_templates c SET input_schema = v.input_schema, output_schema = v.output_schema, updated_at = now()
           FROM template_versions v
          WHERE c.agent = $1 AND c.name = $2 AND v.agent = c.agent AND v.command = c.name AND v.version = $3
            AND (c.input_schema::text <> v.input_schema::text OR c.output_schema::text <> v.output_schema::text)`,
        [agent, command, version],
      );
    }
    return rows.map((r) => ({
      agent,
      command,
      label: r.label,
      fromVersion: r.from_version,
      toVersion: version,
      movedBy,
      movedAt: iso(r.moved_at),
    }));
  }

  /** Who moved which label when, newest first. */
  async labelHistory(agent: string, command: string, ex: SqlExecutor = this.db): Promise<LabelMove[]> {
    const rows = await ex.query<{
      label: string;
      from_version: number | null;
      to_version: number;
      moved_by: string;
      moved_at: Date | string;
    }>(
      `SELECT label, from_version, to_version, moved_by, moved_at FROM template_label_history
        WHERE agent = $1 AND command = $2 ORDER BY id DESC`,
      [agent, command],
    );
    return rows.map((r) => ({
      agent,
      command,
      label: r.label,
      fromVersion: r.from_version,
      toVersion: r.to_version,
      movedBy: r.moved_by,
      movedAt: iso(r.moved_at),
    }));
  }
}
