import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type Role, type ServiceContext } from '@hishamos/platform';
import type { AgentAccessDefault, Page, UserStatus, UserView } from '../identity.types';
import { decodeCursor, encodeCursor, iso, textArray } from '../sql-values';

export interface UserRow extends UserView {
  passwordHash: string | null;
  externalSubject: string | null;
}

export interface NewUser {
  /** Chosen by the caller when it must be known before the insert (default: a new UUID). */
  id?: string;
  email: string;
  name: string;
  passwordHash: string | null;
  roles: Role[];
  teamId: string | null;
  defaultAgentAccess: AgentAccessDefault;
  externalIssuer?: string | null;
  externalSubject?: string | null;
  createdBy: string;
}

export interface UserPatch {
  email?: string;
  name?: string;
  passwordHash?: string | null;
  roles?: Role[];
  teamId?: string | null;
  status?: UserStatus;
  defaultAgentAccess?: AgentAccessDefault;
  externalIssuer?: string | null;
  externalSubject?: string | null;
}

export interface UserListQuery {
  limit: number;
  cursor?: string;
  q?: string;
  role?: Role;
  teamId?: string;
  status?: UserStatus;
}

const COLUMNS = `id, email, name, password_hash, roles, team_id, status, default_agent_access, external_issuer,
  external_subject, created_by, created_at, updated_at`;

const PATCH_COLUMNS: Record<keyof UserPatch, string> = {
  email: 'email',
  name: 'name',
  passwordHash: 'password_hash',
  roles: 'roles',
  teamId: 'team_id',
  status: 'status',
  defaultAgentAccess: 'default_agent_access',
  externalIssuer: 'external_issuer',
  externalSubject: 'external_subject',
};

function toRow(r: Record<string, unknown>): UserRow {
  return {
    id: String(r.id),
    email: String(r.email),
    name: String(r.name),
    roles: textArray(r.roles) as Role[],
    teamId: (r.team_id as string | null) ?? null,
    status: r.status as UserStatus,
    defaultAgentAccess: r.default_agent_access as AgentAccessDefault,
    hasPassword: r.password_hash !== null && r.password_hash !== undefined,
    passwordHash: (r.password_hash as string | null) ?? null,
    externalIssuer: (r.external_issuer as string | null) ?? null,
    externalSubject: (r.external_subject as string | null) ?? null,
    createdBy: String(r.created_by),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** The public view of a row (drops the password hash and the external subject). */
export function userView(row: UserRow): UserView {
  const { passwordHash: _p, externalSubject: _s, ...view } = row;
  return view;
}

/** Users, their roles and their per-agent toggles, in the gateway's schema. */
@Injectable()
export class UserRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>) {}

  private ex(tx?: SqlExecutor): SqlExecutor {
    return tx ?? this.ctx.db;
  }

  async insert(user: NewUser, tx?: SqlExecutor): Promise<UserRow> {
    const [row] = await this.ex(tx).query(
      `INSERT INTO users (id, email, name, password_hash, roles, team_id, default_agent_access, external_issuer,
         external_subject, created_by)
       VALUES (COALESCE($10::uuid, gen_random_uuid()), $1, $2, $3, $4::text[], $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [
        user.email,
        user.name,
        user.passwordHash,
        user.roles,
        user.teamId,
        user.defaultAgentAccess,
        user.externalIssuer ?? null,
        user.externalSubject ?? null,
        user.createdBy,
        user.id ?? null,
      ],
    );
    return toRow(row);
  }

  async findById(id: string, tx?: SqlExecutor, opts: { forUpdate?: boolean } = {}): Promise<UserRow | undefined> {
    const rows = await this.ex(tx).query(
      `SELECT ${COLUMNS} FROM users WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** The live (not deleted) user with this address, compared case-insensitively. */
  async findByEmail(email: string, tx?: SqlExecutor): Promise<UserRow | undefined> {
    const rows = await this.ex(tx).query(
      `SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1) AND status <> 'deleted'`,
      [email],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async findByExternal(issuer: string, subject: string, tx?: SqlExecutor): Promise<UserRow | undefined> {
    const rows = await this.ex(tx).query(
      `SELECT ${COLUMNS} FROM users WHERE external_issuer = $1 AND external_subject = $2`,
      [issuer, subject],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async update(id: string, patch: UserPatch, tx?: SqlExecutor): Promise<UserRow | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [key, column] of Object.entries(PATCH_COLUMNS) as [keyof UserPatch, string][]) {
      if (patch[key] === undefined) continue;
      params.push(patch[key]);
      sets.push(`${column} = $${params.length}${key === 'roles' ? '::text[]' : ''}`);
    }
    if (patch.status === 'deleted') sets.push('deleted_at = now()');
    sets.push('updated_at = now()');
    const rows = await this.ex(tx).query(
      `UPDATE users SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async list(query: UserListQuery): Promise<Page<UserView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replaceAll('?', `$${params.length}`));
    };
    if (query.status) add('status = ?', query.status);
    else where.push(`status <> 'deleted'`);
    if (query.role) add('? = ANY(roles)', query.role);
    if (query.teamId) add('team_id = ?', query.teamId);
    if (query.q)
      add(`(lower(email) LIKE ? OR lower(name) LIKE ?)`, `%${query.q.toLowerCase().replace(/[%_\\]/g, '\\$&')}%`);
    const cursor = decodeCursor(query.cursor);
    if (cursor && cursor.length === 2) {
      params.push(cursor[0], cursor[1]);
      where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(query.limit + 1);
    const rows = await this.ctx.db.query(
      `SELECT ${COLUMNS} FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, query.limit).map((r) => userView(toRow(r)));
    const last = page[page.length - 1];
    return {
      data: page,
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.createdAt, last.id]) : null,
    };
  }

  async count(tx?: SqlExecutor): Promise<number> {
    const [row] = await this.ex(tx).query<{ n: string }>(`SELECT count(*)::text AS n FROM users`);
    return Number(row.n);
  }

  /** Active admins other than `excludingId` (to refuse removing the last one). */
  async countOtherActiveAdmins(excludingId: string, tx?: SqlExecutor): Promise<number> {
    const [row] = await this.ex(tx).query<{ n: string }>(
      `SELECT count(*)::text AS n FROM users WHERE status = 'active' AND 'admin' = ANY(roles) AND id <> $1`,
      [excludingId],
    );
    return Number(row.n);
  }

  async agentOverrides(userId: string, tx?: SqlExecutor): Promise<Map<string, boolean>> {
    const rows = await this.ex(tx).query<{ agent: string; allowed: boolean }>(
      `SELECT agent, allowed FROM user_agent_access WHERE user_id = $1 ORDER BY agent`,
      [userId],
    );
    return new Map(rows.map((r) => [r.agent, r.allowed === true || String(r.allowed) === 'true']));
  }

  async setAgentOverrides(
    userId: string,
    set: { agent: string; allowed: boolean }[],
    reset: string[],
    by: string,
    tx: SqlExecutor,
  ): Promise<void> {
    if (reset.length)
      await tx.query(`DELETE FROM user_agent_access WHERE user_id = $1 AND agent = ANY($2::text[])`, [userId, reset]);
    if (set.length)
      await tx.query(
        `INSERT INTO user_agent_access (user_id, agent, allowed, updated_by)
         SELECT $1, a, b, $4 FROM unnest($2::text[], $3::boolean[]) AS x(a, b)
         ON CONFLICT (user_id, agent) DO UPDATE SET allowed = EXCLUDED.allowed, updated_by = EXCLUDED.updated_by,
           updated_at = now()`,
        [userId, set.map((s) => s.agent), set.map((s) => s.allowed), by],
      );
  }

  /** The agents of the roster (the catalog's `agents` table), by slug. */
  async agentSlugs(tx?: SqlExecutor): Promise<string[]> {
    const rows = await this.ex(tx).query<{ slug: string }>(`SELECT slug FROM agents ORDER BY slug`);
    return rows.map((r) => r.slug);
  }
}
