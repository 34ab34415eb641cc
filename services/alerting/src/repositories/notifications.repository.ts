import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { SqlExecutor } from '@hishamos/persistence';

export type NotificationType = 'info' | 'warning' | 'error' | 'success';

export interface NotificationRow {
  id: string;
  user_id: string;
  title: string;
  message: string;
  type: NotificationType;
  is_read: boolean;
  read_at: Date | null;
  source: string | null;
  link: string | null;
  created_at: Date;
}

export interface NewNotification {
  id: string;
  userId: string;
  title: string;
  message: string;
  type: NotificationType;
  source: string;
  /** Idempotency: one notification per source key. */
  sourceKey: string;
  link?: string;
}

@Injectable()
export class NotificationsRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  async insert(tx: SqlExecutor, n: NewNotification): Promise<boolean> {
    const rows = await tx.query(
      `INSERT INTO notifications (id, user_id, title, message, type, source, source_key, link)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source_key) DO NOTHING RETURNING id`,
      [n.id, n.userId, n.title.slice(0, 255), n.message, n.type, n.source, n.sourceKey, n.link ?? null],
    );
    return rows.length > 0;
  }

  list(
    userId: string,
    f: { unreadOnly: boolean; before?: { at: Date; id: string }; limit: number },
    ex: SqlExecutor = this.ctx.db,
  ): Promise<NotificationRow[]> {
    const p: unknown[] = [userId];
    const where = ['user_id = $1'];
    if (f.unreadOnly) where.push('NOT is_read');
    if (f.before) where.push(`(created_at, id) < ($${p.push(f.before.at)}, $${p.push(f.before.id)}::uuid)`);
    return ex.query<NotificationRow>(
      `SELECT id, user_id, title, message, type, is_read, read_at, source, link, created_at FROM notifications
       WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${p.push(f.limit)}`,
      p,
    );
  }

  async unreadCount(userId: string, ex: SqlExecutor = this.ctx.db): Promise<number> {
    const [row] = await ex.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND NOT is_read`,
      [userId],
    );
    return Number(row?.n ?? 0);
  }

  /** Marks one of the user's notifications read; undefined when it is not theirs or does not exist. */
  async markRead(userId: string, id: string, ex: SqlExecutor = this.ctx.db): Promise<NotificationRow | undefined> {
    const [row] = await ex.query<NotificationRow>(
      `UPDATE notifications SET is_read = true, read_at = coalesce(read_at, now())
       WHERE id = $1 AND user_id = $2
       RETURNING id, user_id, title, message, type, is_read, read_at, source, link, created_at`,
      [id, userId],
    );
    return row;
  }

  async markAllRead(userId: string, ex: SqlExecutor = this.ctx.db): Promise<number> {
    const r = await ex.run(
      `UPDATE notifications SET is_read = true, read_at = now() WHERE user_id = $1 AND NOT is_read`,
      [userId],
    );
    return r.rowCount;
  }
}
