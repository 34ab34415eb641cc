import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { ApiKeyStatus, ApiKeyView, Page } from '../identity.types';
import { buffer, decodeCursor, encodeCursor, iso, isoOrNull, textArray } from '../sql-values';

/** What authentication needs of a key (looked up by prefix). */
export interface ApiKeySecretRow {
  id: string;
  userId: string;
  prefix: string;
  keyHash: Buffer;
  scopes: string[];
  expiresAt: number | null;
  revoked: boolean;
}

export interface NewApiKey {
  userId: string;
  name: string;
  prefix: string;
  keyHash: Buffer;
  hashScheme: string;
  scopes: string[];
  expiresAt: string | null;
  createdBy: string;
}

const COLUMNS = `id, user_id, name, prefix, scopes, expires_at, revoked_at, revoked_by, last_used_at, created_by, created_at`;

function status(r: Record<string, unknown>, now = Date.now()): ApiKeyStatus {
  if (r.revoked_at) return 'revoked';
  if (r.expires_at && new Date(iso(r.expires_at)).getTime() <= now) return 'expired';
  return 'active';
}

function toView(r: Record<string, unknown>): ApiKeyView {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    name: String(r.name),
    prefix: String(r.prefix),
    hint: `hos_${String(r.prefix)}_…`,
    scopes: textArray(r.scopes),
    status: status(r),
    expiresAt: isoOrNull(r.expires_at),
    revokedAt: isoOrNull(r.revoked_at),
    revokedBy: (r.revoked_by as string | null) ?? null,
    lastUsedAt: isoOrNull(r.last_used_at),
    createdBy: String(r.created_by),
    createdAt: iso(r.created_at),
  };
}

@Injectable()
export class ApiKeyRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>) {}

  private ex(tx?: SqlExecutor): SqlExecutor {
    return tx ?? this.ctx.db;
  }

  async insert(key: NewApiKey, tx?: SqlExecutor): Promise<ApiKeyView> {
    const [row] = await this.ex(tx).query(
      `INSERT INTO api_keys (user_id, name, prefix, key_hash, hash_scheme, scopes, expires_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8) RETURNING ${COLUMNS}`,
      [key.userId, key.name, key.prefix, key.keyHash, key.hashScheme, key.scopes, key.expiresAt, key.createdBy],
    );
    return toView(row);
  }

  async prefixExists(prefix: string, tx?: SqlExecutor): Promise<boolean> {
    return (await this.ex(tx).query(`SELECT 1 FROM api_keys WHERE prefix = $1`, [prefix])).length > 0;
  }

  async findSecretByPrefix(prefix: string): Promise<ApiKeySecretRow | undefined> {
    const rows = await this.ctx.db.query(
      `SELECT id, user_id, prefix, key_hash, scopes, expires_at, revoked_at FROM api_keys WHERE prefix = $1`,
      [prefix],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      id: String(r.id),
      userId: String(r.user_id),
      prefix: String(r.prefix),
      keyHash: buffer(r.key_hash),
      scopes: textArray(r.scopes),
      expiresAt: r.expires_at ? new Date(iso(r.expires_at)).getTime() : null,
      revoked: r.revoked_at !== null && r.revoked_at !== undefined,
    };
  }

  async findById(id: string, tx?: SqlExecutor): Promise<ApiKeyView | undefined> {
    const rows = await this.ex(tx).query(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows[0] ? toView(rows[0]) : undefined;
  }

  async list(query: {
    userId?: string;
    includeInactive: boolean;
    limit: number;
    cursor?: string;
  }): Promise<Page<ApiKeyView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.userId) {
      params.push(query.userId);
      where.push(`user_id = $${params.length}`);
    }
    if (!query.includeInactive) where.push(`revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`);
    const cursor = decodeCursor(query.cursor);
    if (cursor && cursor.length === 2) {
      params.push(cursor[0], cursor[1]);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(query.limit + 1);
    const rows = await this.ctx.db.query(
      `SELECT ${COLUMNS} FROM api_keys ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, query.limit).map(toView);
    const last = page[page.length - 1];
    return {
      data: page,
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.createdAt, last.id]) : null,
    };
  }

  async countActive(userId: string, tx?: SqlExecutor): Promise<number> {
    const [row] = await this.ex(tx).query<{ n: string }>(
      `SELECT count(*)::text AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL
         AND (expires_at IS NULL OR expires_at > now())`,
      [userId],
    );
    return Number(row.n);
  }

  /** Revokes one key; undefined when it was already revoked (or does not exist). */
  async revoke(id: string, by: string, tx: SqlExecutor): Promise<ApiKeyView | undefined> {
    const rows = await tx.query(
      `UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [id, by],
    );
    return rows[0] ? toView(rows[0]) : undefined;
  }

  /** Revokes every live key of a user (user deleted or disabled); returns their prefixes. */
  async revokeAllOf(userId: string, by: string, tx: SqlExecutor): Promise<string[]> {
    const rows = await tx.query<{ prefix: string }>(
      `UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING prefix`,
      [userId, by],
    );
    return rows.map((r) => r.prefix);
  }

  /** Records when keys were last used (batched by the authenticator). */
  async touch(lastUsed: Map<string, number>): Promise<void> {
    if (lastUsed.size === 0) return;
    const ids = [...lastUsed.keys()];
    const times = ids.map((id) => new Date(lastUsed.get(id)!).toISOString());
    await this.ctx.db.query(
      `UPDATE api_keys k SET last_used_at = GREATEST(COALESCE(k.last_used_at, x.t), x.t)
       FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, t) WHERE k.id = x.id`,
      [ids, times],
    );
  }
}
