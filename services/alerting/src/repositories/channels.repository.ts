import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { SqlExecutor } from '@hishamos/persistence';
import type { ChannelType } from '../channels/notification-channel';

export interface ChannelRow {
  id: string;
  name: string;
  type: ChannelType;
  config: Record<string, unknown>;
  secret_path: string | null;
  enabled: boolean;
  builtin: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface NewChannel {
  id: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
  secretPath: string | null;
  enabled: boolean;
  builtin?: boolean;
}

@Injectable()
export class ChannelsRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  list(ex: SqlExecutor = this.ctx.db): Promise<ChannelRow[]> {
    return ex.query<ChannelRow>(`SELECT * FROM channels ORDER BY name`);
  }

  async get(id: string, ex: SqlExecutor = this.ctx.db): Promise<ChannelRow | undefined> {
    const [row] = await ex.query<ChannelRow>(`SELECT * FROM channels WHERE id = $1`, [id]);
    return row;
  }

  async getByName(name: string, ex: SqlExecutor = this.ctx.db): Promise<ChannelRow | undefined> {
    const [row] = await ex.query<ChannelRow>(`SELECT * FROM channels WHERE name = $1`, [name]);
    return row;
  }

  async names(ex: SqlExecutor = this.ctx.db): Promise<Set<string>> {
    const rows = await ex.query<{ name: string }>(`SELECT name FROM channels`);
    return new Set(rows.map((r) => r.name));
  }

  /**
   * Which of these channels exist, share-locked until the transaction ends (a rule saved in it cannot
   * end up naming a channel deleted concurrently: deleting takes a lock that conflicts).
   */
  async lockExisting(tx: SqlExecutor, names: string[]): Promise<Set<string>> {
    const rows = await tx.query<{ name: string }>(`SELECT name FROM channels WHERE name = ANY($1::text[]) FOR SHARE`, [
      names,
    ]);
    return new Set(rows.map((r) => r.name));
  }

  /** Undefined when the name is taken. */
  async insert(ex: SqlExecutor, c: NewChannel): Promise<ChannelRow | undefined> {
    const [row] = await ex.query<ChannelRow>(
      `INSERT INTO channels (id, name, type, config, secret_path, enabled, builtin)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING *`,
      [c.id, c.name, c.type, JSON.stringify(c.config), c.secretPath, c.enabled, c.builtin ?? false],
    );
    if (row) await this.bump(ex);
    return row;
  }

  async update(
    ex: SqlExecutor,
    id: string,
    c: { config: Record<string, unknown>; secretPath: string | null; enabled: boolean },
  ): Promise<ChannelRow | undefined> {
    const [row] = await ex.query<ChannelRow>(
      `UPDATE channels SET config = $2::jsonb, secret_path = $3, enabled = $4, updated_at = now() WHERE id = $1 RETURNING *`,
      [id, JSON.stringify(c.config), c.secretPath, c.enabled],
    );
    if (row) await this.bump(ex);
    return row;
  }

  async delete(ex: SqlExecutor, id: string): Promise<boolean> {
    const r = await ex.run(`DELETE FROM channels WHERE id = $1`, [id]);
    if (r.rowCount > 0) await this.bump(ex);
    return r.rowCount > 0;
  }

  private async bump(ex: SqlExecutor): Promise<void> {
    await ex.query(`UPDATE config_revision SET revision = revision + 1 WHERE id = 1`);
  }
}
