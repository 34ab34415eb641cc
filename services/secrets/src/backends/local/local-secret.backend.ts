import type { Database, SqlExecutor } from '@hishamos/persistence';
import { registerSecretValue, type ReadinessResult } from '@hishamos/platform';
import { CasMismatchError, SecretIntegrityError, SecretNotFoundError } from '../../domain/secret-errors';
import type {
  SecretBackend,
  SecretMetadata,
  SecretVersions,
  SecretVersionValue,
  WriteOptions,
  WrittenVersion,
} from '../secret-backend';
import { CANARY_PLAINTEXT, canaryAad, KeyRing, KeyRingError, OpenFailedError, valueAad, type Sealed } from './key-ring';
import { asBuffer, LocalSecretRepository, type StoredVersionRow } from './local-secret.repository';

export interface LocalBackendOptions {
  maxVersions: number;
}

export interface ReencryptResult {
  reencrypted: number;
  fromKeyIds: string[];
}

/**
 * The local encrypted store in the secrets schema: AES-256-GCM under the key ring's active key, a
 * random 96-bit nonce per value, path and version bound as associated data; versions kept like KV v2
 * (check-and-set, soft delete, undelete, destroy, at most `maxVersions`).
 */
export class LocalSecretBackend implements SecretBackend {
  readonly id = 'local' as const;
  private readonly repo = new LocalSecretRepository();

  private constructor(
    private readonly db: Database,
    readonly keyRing: KeyRing,
    private readonly options: LocalBackendOptions,
  ) {}

  /**
   * Opens the store after checking the key ring against it: every canary whose key is in the ring must
   * decrypt, and every value must be under a key the ring has. A wrong ENCRYPTION_KEY throws here.
   */
  static async open(db: Database, keyRing: KeyRing, options: LocalBackendOptions): Promise<LocalSecretBackend> {
    const backend = new LocalSecretBackend(db, keyRing, options);
    await backend.verifyKeyRing();
    return backend;
  }

  private async verifyKeyRing(): Promise<void> {
    const ring = this.keyRing;
    await this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('secrets:keyring'))`);
      const used = new Set(Object.keys(await this.repo.countByKey(tx)));
      for (const canary of await this.repo.canaries(tx)) {
        if (ring.has(canary.key_id)) {
          let plain: Buffer | undefined;
          try {
            plain = ring.open(
              { keyId: canary.key_id, nonce: asBuffer(canary.nonce), ciphertext: asBuffer(canary.ciphertext) },
              canaryAad(canary.key_id),
            );
          } catch (e) {
            if (!(e instanceof OpenFailedError)) throw e;
          }
          if (!plain || !plain.equals(CANARY_PLAINTEXT))
            throw new KeyRingError(
              `ENCRYPTION_KEY key ${canary.key_id} is not the key this secret store was encrypted with ` +
                `(its canary record does not decrypt): refusing to start with a wrong ENCRYPTION_KEY`,
            );
        } else if (!used.has(canary.key_id)) {
          await this.repo.deleteCanary(tx, canary.key_id); // a retired key no value needs any more
        }
      }
      const missing = [...used].filter((id) => !ring.has(id));
      if (missing.length > 0)
        throw new KeyRingError(
          `secret values are encrypted with key id(s) ${missing.join(', ')}, which ENCRYPTION_KEY does not contain: ` +
            `keep the old key in the ring (e.g. ENCRYPTION_KEY="new:<base64>,${missing[0]}:<base64>") until re-encryption is done`,
        );
      const sealed = ring.seal(CANARY_PLAINTEXT, canaryAad(ring.activeKeyId));
      await this.repo.insertCanary(tx, sealed.keyId, sealed.nonce, sealed.ciphertext);
    });
  }

  async read(tx: SqlExecutor, path: string, version?: number): Promise<SecretVersionValue> {
    const secret = await this.repo.findSecret(tx, path);
    if (!secret || secret.current_version === 0) throw new SecretNotFoundError(path, version);
    const v = version ?? secret.current_version;
    const row = await this.repo.findVersion(tx, path, v);
    if (!row) throw new SecretNotFoundError(path, version);
    if (row.destroyed) throw new SecretNotFoundError(path, version, 'destroyed');
    if (row.deleted_at) throw new SecretNotFoundError(path, version, 'deleted');
    const value = this.decrypt(row).toString('utf8');
    registerSecretValue(value);
    return { path, version: v, value, metadata: secret.custom_metadata ?? {}, createdAt: row.created_at };
  }

  async write(tx: SqlExecutor, path: string, value: string, options: WriteOptions = {}): Promise<WrittenVersion> {
    registerSecretValue(value);
    const secret = (await this.repo.lockSecret(tx, path, true))!;
    if (options.cas !== undefined && options.cas !== secret.current_version)
      throw new CasMismatchError(path, options.cas, secret.current_version);
    const version = secret.current_version + 1;
    const sealed = this.keyRing.seal(Buffer.from(value, 'utf8'), valueAad(path, version));
    const createdAt = await this.repo.insertVersion(tx, { path, version, ...sealed });
    await this.repo.advance(
      tx,
      path,
      version,
      this.options.maxVersions,
      options.initialMetadata ?? {},
      options.metadata ?? {},
    );
    return { path, version, createdAt };
  }

  async versions(tx: SqlExecutor, path: string): Promise<SecretVersions> {
    const secret = await this.repo.findSecret(tx, path);
    if (!secret) throw new SecretNotFoundError(path);
    const rows = await this.repo.listVersions(tx, path);
    return {
      path,
      currentVersion: secret.current_version,
      oldestVersion: secret.oldest_version,
      metadata: secret.custom_metadata ?? {},
      versions: rows.map((r) => ({
        version: r.version,
        createdAt: r.created_at,
        ...(r.deleted_at ? { deletedAt: r.deleted_at } : {}),
        destroyed: r.destroyed,
      })),
    };
  }

  async updateMetadata(tx: SqlExecutor, path: string, metadata: SecretMetadata): Promise<void> {
    if (!(await this.repo.mergeMetadata(tx, path, metadata))) throw new SecretNotFoundError(path);
  }

  async list(tx: SqlExecutor, folder: string): Promise<string[]> {
    const names = new Set<string>();
    for (const p of await this.repo.pathsUnder(tx, folder)) {
      const rest = p.slice(folder.length);
      const slash = rest.indexOf('/');
      names.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    return [...names].sort();
  }

  async softDelete(tx: SqlExecutor, path: string, versions?: number[]): Promise<number[]> {
    const secret = await this.repo.lockSecret(tx, path, false);
    if (!secret || secret.current_version === 0) throw new SecretNotFoundError(path);
    return this.repo.markDeleted(tx, path, versions ?? [secret.current_version]);
  }

  async undelete(tx: SqlExecutor, path: string, versions: number[]): Promise<void> {
    if (!(await this.repo.lockSecret(tx, path, false))) throw new SecretNotFoundError(path);
    await this.repo.markUndeleted(tx, path, versions);
  }

  async destroy(tx: SqlExecutor, path: string, versions: number[]): Promise<void> {
    if (!(await this.repo.lockSecret(tx, path, false))) throw new SecretNotFoundError(path);
    await this.repo.markDestroyed(tx, path, versions);
  }

  /**
   * Re-encrypts up to `limit` values still under an older master key with the active one, in the
   * caller's transaction (rows other transactions hold are skipped and left for the next batch).
   * Readers are never blocked for long: each value stays decryptable under its recorded key id.
   */
  async reencryptBatch(tx: SqlExecutor, limit: number): Promise<ReencryptResult> {
    const rows = await this.repo.lockStale(tx, this.keyRing.activeKeyId, limit);
    const from = new Set<string>();
    for (const row of rows) {
      const plain = this.decrypt(row);
      const sealed = this.keyRing.seal(plain, valueAad(row.path, row.version));
      plain.fill(0);
      await this.repo.reseal(tx, { path: row.path, version: row.version, ...sealed });
      from.add(row.key_id!);
    }
    return { reencrypted: rows.length, fromKeyIds: [...from].sort() };
  }

  /** How many values each key encrypts (re-encryption progress). */
  async valuesByKey(tx: SqlExecutor = this.db): Promise<Record<string, number>> {
    return this.repo.countByKey(tx);
  }

  async health(): Promise<ReadinessResult> {
    const byKey = await this.valuesByKey();
    const pending = Object.entries(byKey)
      .filter(([id]) => id !== this.keyRing.activeKeyId)
      .reduce((n, [, c]) => n + c, 0);
    return {
      ok: true,
      backend: this.id,
      activeKeyId: this.keyRing.activeKeyId,
      keyIds: this.keyRing.keyIds,
      valuesPendingReencryption: pending,
    };
  }

  async close(): Promise<void> {
    // nothing to release: the service's database is the platform's
  }

  private decrypt(row: StoredVersionRow): Buffer {
    const sealed: Sealed = {
      keyId: row.key_id!,
      nonce: asBuffer(row.nonce!),
      ciphertext: asBuffer(row.ciphertext!),
    };
    try {
      return this.keyRing.open(sealed, valueAad(row.path, row.version));
    } catch (e) {
      if (e instanceof OpenFailedError || e instanceof KeyRingError)
        throw new SecretIntegrityError(row.path, row.version);
      throw e;
    }
  }
}
