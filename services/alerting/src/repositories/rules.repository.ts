import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { SqlExecutor } from '@hishamos/persistence';
import type { MetricSpec, RuleDefinition, RuleKind, Severity } from '../domain/rule-definition';

export interface RuleRow {
  id: string;
  name: string;
  description: string;
  kind: RuleKind;
  event_type: string;
  condition: string;
  entity: string | null;
  resolve_when: string | null;
  metric: MetricSpec | null;
  severity: Severity;
  channels: string[];
  cooldown_minutes: string;
  message_template: string;
  notify_resolved: boolean;
  enabled: boolean;
  builtin: boolean;
  revision: number;
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export function definitionOf(row: RuleRow): RuleDefinition {
  return {
    name: row.name,
    description: row.description,
    kind: row.kind,
    eventType: row.event_type,
    condition: row.condition,
    entity: row.entity,
    resolveWhen: row.resolve_when,
    metric: row.metric,
    severity: row.severity,
    channels: row.channels,
    cooldownMinutes: Number(row.cooldown_minutes),
    messageTemplate: row.message_template,
    notifyResolved: row.notify_resolved,
    enabled: row.enabled,
  };
}

const COLUMNS = `id, name, description, kind, event_type, condition, entity, resolve_when, metric, severity, channels,
  cooldown_minutes::text AS cooldown_minutes, message_template, notify_resolved, enabled, builtin, revision,
  created_by, updated_by, created_at, updated_at`;

export interface RuleFilter {
  eventType?: string;
  kind?: string;
  enabled?: boolean;
}

@Injectable()
export class RulesRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  async list(filter: RuleFilter = {}, ex: SqlExecutor = this.ctx.db): Promise<RuleRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.eventType) where.push(`event_type = $${params.push(filter.eventType)}`);
    if (filter.kind) where.push(`kind = $${params.push(filter.kind)}`);
    if (filter.enabled !== undefined) where.push(`enabled = $${params.push(filter.enabled)}`);
    return ex.query<RuleRow>(
      `SELECT ${COLUMNS} FROM alert_rules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name`,
      params,
    );
  }

  async get(id: string, ex: SqlExecutor = this.ctx.db, forUpdate = false): Promise<RuleRow | undefined> {
    const [row] = await ex.query<RuleRow>(
      `SELECT ${COLUMNS} FROM alert_rules WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return row;
  }

  async getByName(name: string, ex: SqlExecutor = this.ctx.db): Promise<RuleRow | undefined> {
    const [row] = await ex.query<RuleRow>(`SELECT ${COLUMNS} FROM alert_rules WHERE name = $1`, [name]);
    return row;
  }

  /** Inserts a rule; undefined when the name is taken. */
  async insert(
    ex: SqlExecutor,
    id: string,
    def: RuleDefinition,
    meta: { builtin?: boolean; actor?: string },
  ): Promise<RuleRow | undefined> {
    const [row] = await ex.query<RuleRow>(
      `INSERT INTO alert_rules (id, name, description, kind, event_type, condition, entity, resolve_when, metric, severity,
         channels, cooldown_minutes, message_template, notify_resolved, enabled, builtin, created_by, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::text[], $12, $13, $14, $15, $16, $17, $17)
       ON CONFLICT (name) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        id,
        def.name,
        def.description ?? '',
        def.kind,
        def.eventType,
        def.condition,
        def.entity ?? null,
        def.resolveWhen ?? null,
        def.metric ? JSON.stringify(def.metric) : null,
        def.severity,
        def.channels,
        String(def.cooldownMinutes),
        def.messageTemplate,
        def.notifyResolved ?? true,
        def.enabled ?? true,
        meta.builtin ?? false,
        meta.actor ?? null,
      ],
    );
    if (row) await this.bumpRevision(ex);
    return row;
  }

  async update(ex: SqlExecutor, id: string, def: RuleDefinition, actor?: string): Promise<RuleRow | undefined> {
    const [row] = await ex.query<RuleRow>(
      `UPDATE alert_rules SET name = $2, description = $3, kind = $4, event_type = $5, condition = $6, entity = $7,
         resolve_when = $8, metric = $9::jsonb, severity = $10, channels = $11::text[], cooldown_minutes = $12,
         message_template = $13, notify_resolved = $14, enabled = $15, updated_by = $16, revision = revision + 1,
         updated_at = now()
       WHERE id = $1
       RETURNING ${COLUMNS}`,
      [
        id,
        def.name,
        def.description ?? '',
        def.kind,
        def.eventType,
        def.condition,
        def.entity ?? null,
        def.resolveWhen ?? null,
        def.metric ? JSON.stringify(def.metric) : null,
        def.severity,
        def.channels,
        String(def.cooldownMinutes),
        def.messageTemplate,
        def.notifyResolved ?? true,
        def.enabled ?? true,
        actor ?? null,
      ],
    );
    if (row) await this.bumpRevision(ex);
    return row;
  }

  async setEnabled(ex: SqlExecutor, id: string, enabled: boolean, actor?: string): Promise<RuleRow | undefined> {
    const [row] = await ex.query<RuleRow>(
      `UPDATE alert_rules SET enabled = $2, updated_by = $3, revision = revision + 1, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, enabled, actor ?? null],
    );
    if (row) await this.bumpRevision(ex);
    return row;
  }

  async delete(ex: SqlExecutor, id: string): Promise<boolean> {
    const r = await ex.run(`DELETE FROM alert_rules WHERE id = $1`, [id]);
    if (r.rowCount > 0) await this.bumpRevision(ex);
    return r.rowCount > 0;
  }

  /** Names of the rules that send to a channel. */
  async usingChannel(name: string, ex: SqlExecutor = this.ctx.db): Promise<string[]> {
    const rows = await ex.query<{ name: string }>(
      `SELECT name FROM alert_rules WHERE $1 = ANY(channels) ORDER BY name`,
      [name],
    );
    return rows.map((r) => r.name);
  }

  async bumpRevision(ex: SqlExecutor): Promise<void> {
    await ex.query(`UPDATE config_revision SET revision = revision + 1 WHERE id = 1`);
  }

  async revision(ex: SqlExecutor = this.ctx.db): Promise<number> {
    const [row] = await ex.query<{ revision: string }>(
      `SELECT revision::text AS revision FROM config_revision WHERE id = 1`,
    );
    return Number(row?.revision ?? 0);
  }

  /** Marks a default as seeded; false when it was seeded before (by this or another replica). */
  async markSeeded(ex: SqlExecutor, kind: 'rule' | 'channel', name: string): Promise<boolean> {
    const rows = await ex.query(
      `INSERT INTO seeded_defaults (kind, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING name`,
      [kind, name],
    );
    return rows.length > 0;
  }
}
