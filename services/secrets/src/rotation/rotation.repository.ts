import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';

export interface RotationRow {
  id: string;
  path: string;
  previous_version: number;
  version: number;
  rotated_by: string;
  rotated_at: Date;
  grace_until: Date;
  expired_at: Date | null;
}

/** Rotations and their grace periods (the previous version stays readable until grace_until). */
@Injectable()
export class RotationRepository {
  async insert(
    tx: SqlExecutor,
    r: { path: string; previousVersion: number; version: number; rotatedBy: string; graceUntil: Date },
  ): Promise<string> {
    const id = randomUUID();
    await tx.query(
      `INSERT INTO rotations (id, path, previous_version, version, rotated_by, grace_until) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, r.path, r.previousVersion, r.version, r.rotatedBy, r.graceUntil],
    );
    return id;
  }

  /** The rotation that replaced `version` of `path`, if any. */
  async findByPrevious(tx: SqlExecutor, path: string, version: number): Promise<RotationRow | undefined> {
    const [row] = await tx.query<RotationRow>(
      `SELECT * FROM rotations WHERE path = $1 AND previous_version = $2 ORDER BY rotated_at DESC LIMIT 1`,
      [path, version],
    );
    return row;
  }

  /** Grace periods per rotated-out version of `path`. */
  async graceByVersion(tx: SqlExecutor, path: string): Promise<Map<number, Date>> {
    const rows = await tx.query<RotationRow>(`SELECT * FROM rotations WHERE path = $1`, [path]);
    return new Map(rows.map((r) => [r.previous_version, r.grace_until]));
  }

  /** Ids of rotations whose grace period has ended and whose old version is not expired yet. */
  async dueIds(tx: SqlExecutor, now: Date, limit: number): Promise<string[]> {
    const rows = await tx.query<{ id: string }>(
      `SELECT id FROM rotations WHERE expired_at IS NULL AND grace_until <= $1 ORDER BY grace_until LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  async findById(tx: SqlExecutor, id: string): Promise<RotationRow | undefined> {
    const [row] = await tx.query<RotationRow>(`SELECT * FROM rotations WHERE id = $1`, [id]);
    return row;
  }

  /** Locks one due rotation for expiry (none when another replica holds or finished it). */
  async lockDue(tx: SqlExecutor, id: string): Promise<RotationRow | undefined> {
    const [row] = await tx.query<RotationRow>(
      `SELECT * FROM rotations WHERE id = $1 AND expired_at IS NULL FOR UPDATE SKIP LOCKED`,
      [id],
    );
    return row;
  }

  async markExpired(tx: SqlExecutor, id: string): Promise<void> {
    await tx.query(`UPDATE rotations SET expired_at = now() WHERE id = $1`, [id]);
  }
}
