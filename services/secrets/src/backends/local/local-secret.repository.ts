import type { SqlExecutor } from '@hishamos/persistence';
import type { SecretMetadata } from '../secret-backend';

/** What a value's row holds (the ciphertext, never the value). */
export interface StoredVersionRow {
  path: string;
  version: number;
  key_id: string | null;
  nonce: Uint8Array | null;
  ciphertext: Uint8Array | null;
  created_at: Date;
  deleted_at: Date | null;
  destroyed: boolean;
}

export interface SecretRow {
  path: string;
  current_version: number;
  oldest_version: number;
  custom_metadata: SecretMetadata;
  created_at: Date;
  updated_at: Date;
}

export interface CanaryRow {
  key_id: string;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

export const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** SQL of the local encrypted store (tables secrets, secret_versions, keyring_canaries). */
export class LocalSecretRepository {
  /** The secret's row, locked for the caller's transaction (creating it when `create`). */
  async lockSecret(tx: SqlExecutor, path: string, create: boolean): Promise<SecretRow | undefined> {
    if (create) await tx.query(`INSERT INTO secrets (path) VALUES ($1) ON CONFLICT (path) DO NOTHING`, [path]);
    const [row] = await tx.query<SecretRow>(`SELECT * FROM secrets WHERE path = $1 FOR UPDATE`, [path]);
    return row;
  }

  async findSecret(tx: SqlExecutor, path: string): Promise<SecretRow | undefined> {
    const [row] = await tx.query<SecretRow>(`SELECT * FROM secrets WHERE path = $1`, [path]);
    return row;
  }

  async findVersion(tx: SqlExecutor, path: string, version: number): Promise<StoredVersionRow | undefined> {
    const [row] = await tx.query<StoredVersionRow>(`SELECT * FROM secret_versions WHERE path = $1 AND version = $2`, [
      path,
      version,
    ]);
    return row;
  }

  async listVersions(tx: SqlExecutor, path: string): Promise<StoredVersionRow[]> {
    return tx.query<StoredVersionRow>(
      `SELECT path, version, created_at, deleted_at, destroyed, NULL::text AS key_id, NULL::bytea AS nonce,
              NULL::bytea AS ciphertext
       FROM secret_versions WHERE path = $1 ORDER BY version`,
      [path],
    );
  }

  async insertVersion(
    tx: SqlExecutor,
    row: { path: string; version: number; keyId: string; nonce: Buffer; ciphertext: Buffer },
  ): Promise<Date> {
    const [r] = await tx.query<{ created_at: Date }>(
      `INSERT INTO secret_versions (path, version, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4, $5)
       RETURNING created_at`,
      [row.path, row.version, row.keyId, row.nonce, row.ciphertext],
    );
    return r.created_at;
  }

  /**
   * Records the new current version, merges metadata (`initial` only for keys not set yet, `given`
   * over everything), drops versions beyond `maxVersions` and returns the oldest kept.
   */
  async advance(
    tx: SqlExecutor,
    path: string,
    version: number,
    maxVersions: number,
    initial: SecretMetadata,
    given: SecretMetadata,
  ): Promise<void> {
    await tx.query(`DELETE FROM secret_versions WHERE path = $1 AND version <= $2`, [path, version - maxVersions]);
    await tx.query(
      `UPDATE secrets SET current_version = $2,
              oldest_version = (SELECT min(version) FROM secret_versions WHERE path = $1),
              custom_metadata = $3::jsonb || custom_metadata || $4::jsonb,
              updated_at = now()
       WHERE path = $1`,
      [path, version, JSON.stringify(initial), JSON.stringify(given)],
    );
  }

  async mergeMetadata(tx: SqlExecutor, path: string, metadata: SecretMetadata): Promise<boolean> {
    const r = await tx.run(
      `UPDATE secrets SET custom_metadata = custom_metadata || $2::jsonb, updated_at = now() WHERE path = $1`,
      [path, JSON.stringify(metadata)],
    );
    return r.rowCount > 0;
  }

  async pathsUnder(tx: SqlExecutor, folder: string): Promise<string[]> {
    const rows = await tx.query<{ path: string }>(
      `SELECT path FROM secrets WHERE left(path, $2) = $1 AND current_version > 0 ORDER BY path`,
      [folder, folder.length],
    );
    return rows.map((r) => r.path);
  }

  async markDeleted(tx: SqlExecutor, path: string, versions: number[]): Promise<number[]> {
    const rows = await tx.query<{ version: number }>(
      `UPDATE secret_versions SET deleted_at = now()
       WHERE path = $1 AND version = ANY($2::int[]) AND deleted_at IS NULL AND NOT destroyed RETURNING version`,
      [path, versions],
    );
    return rows.map((r) => r.version).sort((a, b) => a - b);
  }

  async markUndeleted(tx: SqlExecutor, path: string, versions: number[]): Promise<void> {
    await tx.query(
      `UPDATE secret_versions SET deleted_at = NULL WHERE path = $1 AND version = ANY($2::int[]) AND NOT destroyed`,
      [path, versions],
    );
  }

  async markDestroyed(tx: SqlExecutor, path: string, versions: number[]): Promise<void> {
    await tx.query(
      `UPDATE secret_versions SET destroyed = true, key_id = NULL, nonce = NULL, ciphertext = NULL
       WHERE path = $1 AND version = ANY($2::int[])`,
      [path, versions],
    );
  }

  /** Values under any key but `activeKeyId`, locked (skipping rows other transactions hold). */
  async lockStale(tx: SqlExecutor, activeKeyId: string, limit: number): Promise<StoredVersionRow[]> {
    return tx.query<StoredVersionRow>(
      `SELECT * FROM secret_versions WHERE key_id IS NOT NULL AND key_id <> $1
       ORDER BY path, version LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [activeKeyId, limit],
    );
  }

  async reseal(
    tx: SqlExecutor,
    row: { path: string; version: number; keyId: string; nonce: Buffer; ciphertext: Buffer },
  ): Promise<void> {
    await tx.query(
      `UPDATE secret_versions SET key_id = $3, nonce = $4, ciphertext = $5 WHERE path = $1 AND version = $2`,
      [row.path, row.version, row.keyId, row.nonce, row.ciphertext],
    );
  }

  /** How many values each key id encrypts. */
  async countByKey(tx: SqlExecutor): Promise<Record<string, number>> {
    const rows = await tx.query<{ key_id: string; n: number }>(
      `SELECT key_id, count(*)::int AS n FROM secret_versions WHERE key_id IS NOT NULL GROUP BY key_id`,
    );
    return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
  }

  async canaries(tx: SqlExecutor): Promise<CanaryRow[]> {
    return tx.query<CanaryRow>(`SELECT key_id, nonce, ciphertext FROM keyring_canaries ORDER BY key_id`);
  }

  async insertCanary(tx: SqlExecutor, keyId: string, nonce: Buffer, ciphertext: Buffer): Promise<void> {
    await tx.query(
      `INSERT INTO keyring_canaries (key_id, nonce, ciphertext) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING`,
      [keyId, nonce, ciphertext],
    );
  }

  async deleteCanary(tx: SqlExecutor, keyId: string): Promise<void> {
    await tx.query(`DELETE FROM keyring_canaries WHERE key_id = $1`, [keyId]);
  }
}
