import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { jsonParam, type DefinitionRow } from './rows';

/** Immutable workflow definition versions. */
@Injectable()
export class WorkflowDefinitionRepository {
  async latest(db: SqlExecutor, id: string): Promise<DefinitionRow | undefined> {
    const [row] = await db.query<DefinitionRow>(
      `SELECT * FROM workflow_definitions WHERE id = $1 ORDER BY version DESC LIMIT 1`,
      [id],
    );
    return row;
  }

  async byVersion(db: SqlExecutor, id: string, version: number): Promise<DefinitionRow | undefined> {
    const [row] = await db.query<DefinitionRow>(`SELECT * FROM workflow_definitions WHERE id = $1 AND version = $2`, [
      id,
      version,
    ]);
    return row;
  }

  /** The latest version of the workflow with this id, else the one whose name matches (case-insensitive). */
  async latestByIdOrName(db: SqlExecutor, idOrName: string): Promise<DefinitionRow | undefined> {
    const byId = await this.latest(db, idOrName);
    if (byId) return byId;
    const [row] = await db.query<DefinitionRow>(
      `SELECT * FROM workflow_definitions WHERE lower(name) = lower($1) ORDER BY created_at DESC, version DESC LIMIT 1`,
      [idOrName],
    );
    return row ? this.latest(db, row.id) : undefined;
  }

  async listLatest(db: SqlExecutor): Promise<DefinitionRow[]> {
    return db.query<DefinitionRow>(`SELECT DISTINCT ON (id) * FROM workflow_definitions ORDER BY id, version DESC`);
  }

  async versions(db: SqlExecutor, id: string): Promise<Omit<DefinitionRow, 'definition'>[]> {
    return db.query(
      `SELECT id, version, name, description, content_hash, source, created_by, created_at
       FROM workflow_definitions WHERE id = $1 ORDER BY version DESC`,
      [id],
    );
  }

  async findByHash(db: SqlExecutor, id: string, hash: string): Promise<DefinitionRow | undefined> {
    const [row] = await db.query<DefinitionRow>(
      `SELECT * FROM workflow_definitions WHERE id = $1 AND content_hash = $2 ORDER BY version DESC LIMIT 1`,
      [id, hash],
    );
    return row;
  }

  /** Serialises registrations of one workflow id across replicas (transaction-scoped). */
  async lockId(tx: SqlExecutor, id: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('orchestrator:workflow:' || $1))`, [id]);
  }

  async insert(
    tx: SqlExecutor,
    row: Pick<DefinitionRow, 'id' | 'version' | 'name' | 'description' | 'content_hash' | 'source' | 'created_by'> & {
      definition: object;
    },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO workflow_definitions (id, version, name, description, definition, content_hash, source, created_by)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)`,
      [
        row.id,
        row.version,
        row.name,
        row.description,
        jsonParam(row.definition),
        row.content_hash,
        row.source,
        row.created_by,
      ],
    );
  }
}
