import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { iso, isoOrNull } from '../identity/sql-values';

export interface ProviderRow {
  id: string;
  kind: string;
  name: string;
  baseUrl: string | null;
  defaultModel: string | null;
  enabled: boolean;
  priority: number;
  options: Record<string, unknown>;
  apiKeyPath: string | null;
  apiKeyHint: string | null;
  apiKeyVersion: number | null;
  lastTestAt: string | null;
  lastTestOk: boolean | null;
  lastTestError: string | null;
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export type ProviderWrite = Pick<
  ProviderRow,
  | 'kind'
  | 'name'
  | 'baseUrl'
  | 'defaultModel'
  | 'enabled'
  | 'priority'
  | 'options'
  | 'apiKeyPath'
  | 'apiKeyHint'
  | 'apiKeyVersion'
>;

const COLUMNS = `id, kind, name, base_url, default_model, enabled, priority, options, api_key_path, api_key_hint,
  api_key_version, last_test_at, last_test_ok, last_test_error, created_by, updated_by, created_at, updated_at`;

function toRow(r: Record<string, unknown>): ProviderRow {
  const options = typeof r.options === 'string' ? (JSON.parse(r.options) as Record<string, unknown>) : r.options;
  return {
    id: String(r.id),
    kind: String(r.kind),
    name: String(r.name),
    baseUrl: (r.base_url as string | null) ?? null,
    defaultModel: (r.default_model as string | null) ?? null,
    enabled: r.enabled === true || String(r.enabled) === 'true',
    priority: Number(r.priority),
    options: (options as Record<string, unknown>) ?? {},
    apiKeyPath: (r.api_key_path as string | null) ?? null,
    apiKeyHint: (r.api_key_hint as string | null) ?? null,
    apiKeyVersion: r.api_key_version === null || r.api_key_version === undefined ? null : Number(r.api_key_version),
    lastTestAt: isoOrNull(r.last_test_at),
    lastTestOk: r.last_test_ok === null || r.last_test_ok === undefined ? null : r.last_test_ok === true,
    lastTestError: (r.last_test_error as string | null) ?? null,
    createdBy: String(r.created_by),
    updatedBy: String(r.updated_by),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

@Injectable()
export class ProviderConfigRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>) {}

  private ex(tx?: SqlExecutor): SqlExecutor {
    return tx ?? this.ctx.db;
  }

  async list(tx?: SqlExecutor): Promise<ProviderRow[]> {
    return (await this.ex(tx).query(`SELECT ${COLUMNS} FROM provider_configs ORDER BY priority, id`)).map(toRow);
  }

  async get(id: string, tx?: SqlExecutor, opts: { forUpdate?: boolean } = {}): Promise<ProviderRow | undefined> {
    const rows = await this.ex(tx).query(
      `SELECT ${COLUMNS} FROM provider_configs WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async insert(id: string, p: ProviderWrite, by: string, tx: SqlExecutor): Promise<ProviderRow> {
    const [row] = await tx.query(
      `INSERT INTO provider_configs (id, kind, name, base_url, default_model, enabled, priority, options, api_key_path,
         api_key_hint, api_key_version, created_by, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $12) RETURNING ${COLUMNS}`,
      [
        id,
        p.kind,
        p.name,
        p.baseUrl,
        p.defaultModel,
        p.enabled,
        p.priority,
        JSON.stringify(p.options),
        p.apiKeyPath,
        p.apiKeyHint,
        p.apiKeyVersion,
        by,
      ],
    );
    return toRow(row);
  }

  async update(id: string, p: ProviderWrite, by: string, tx: SqlExecutor): Promise<ProviderRow> {
    const [row] = await tx.query(
      `UPDATE provider_configs SET kind = $2, name = $3, base_url = $4, default_model = $5, enabled = $6, priority = $7,
         options = $8::jsonb, api_key_path = $9, api_key_hint = $10, api_key_version = $11, updated_by = $12,
         updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        id,
        p.kind,
        p.name,
        p.baseUrl,
        p.defaultModel,
        p.enabled,
        p.priority,
        JSON.stringify(p.options),
        p.apiKeyPath,
        p.apiKeyHint,
        p.apiKeyVersion,
        by,
      ],
    );
    return toRow(row);
  }

  async delete(id: string, tx: SqlExecutor): Promise<boolean> {
    return (await tx.query(`DELETE FROM provider_configs WHERE id = $1 RETURNING id`, [id])).length > 0;
  }

  async recordTest(id: string, ok: boolean, error: string | null): Promise<void> {
    await this.ctx.db.query(
      `UPDATE provider_configs SET last_test_at = now(), last_test_ok = $2, last_test_error = $3 WHERE id = $1`,
      [id, ok, error],
    );
  }

  /** A fingerprint of every row's id and update time: changes when any provider changes. */
  async stamp(): Promise<string> {
    const [row] = await this.ctx.db.query<{ s: string | null }>(
      `SELECT string_agg(id || '@' || extract(epoch from updated_at)::text, ',' ORDER BY id) AS s FROM provider_configs`,
    );
    return row?.s ?? '';
  }
}

@Injectable()
export class AllowedHostRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>) {}

  async list(): Promise<{ host: string; note: string | null; createdBy: string; createdAt: string }[]> {
    const rows = await this.ctx.db.query(`SELECT host, note, created_by, created_at FROM allowed_hosts ORDER BY host`);
    return rows.map((r) => ({
      host: String(r.host),
      note: (r.note as string | null) ?? null,
      createdBy: String(r.created_by),
      createdAt: iso(r.created_at),
    }));
  }

  /** Adds a host; false when it was there already. */
  async add(host: string, note: string | null, by: string, tx: SqlExecutor): Promise<boolean> {
    const rows = await tx.query(
      `INSERT INTO allowed_hosts (host, note, created_by) VALUES ($1, $2, $3) ON CONFLICT (host) DO NOTHING RETURNING host`,
      [host, note, by],
    );
    return rows.length > 0;
  }

  async remove(host: string, tx: SqlExecutor): Promise<boolean> {
    return (await tx.query(`DELETE FROM allowed_hosts WHERE host = $1 RETURNING host`, [host])).length > 0;
  }
}
