import type { SqlExecutor } from '@hishamos/persistence';
import type { ReadinessResult } from '@hishamos/platform';

export type SecretBackendId = 'vault' | 'local';

/** Custom metadata of a secret (KV v2 custom_metadata): owner, rotated_at, platform... never values. */
export type SecretMetadata = Record<string, string>;

export interface SecretVersionValue {
  path: string;
  version: number;
  value: string;
  metadata: SecretMetadata;
  createdAt: Date;
}

export interface WrittenVersion {
  path: string;
  version: number;
  createdAt: Date;
}

export interface SecretVersionInfo {
  version: number;
  createdAt: Date;
  deletedAt?: Date;
  destroyed: boolean;
}

export interface SecretVersions {
  path: string;
  currentVersion: number;
  oldestVersion: number;
  metadata: SecretMetadata;
  versions: SecretVersionInfo[];
}

export interface WriteOptions {
  /** Check-and-set: 0 = only if the secret does not exist; N = only if the current version is N. */
  cas?: number;
  /** Custom metadata merged into the secret's (keys given replace existing ones). */
  metadata?: SecretMetadata;
  /** Custom metadata set only for keys the secret does not have yet (e.g. the first writer as owner). */
  initialMetadata?: SecretMetadata;
}

/**
 * Where secret values live: Vault KV v2 or the local encrypted store. Operations take the caller's
 * transaction: the local store writes in it (so the value, the audit record and the events commit
 * together); Vault is called inside it (so a failing audit write withholds the answer).
 * Errors: SecretNotFoundError, CasMismatchError, SecretIntegrityError, SecretBackendUnavailableError.
 */
export interface SecretBackend {
  readonly id: SecretBackendId;
  /** The latest version, or the given one; deleted and destroyed versions are not found. */
  read(tx: SqlExecutor, path: string, version?: number): Promise<SecretVersionValue>;
  write(tx: SqlExecutor, path: string, value: string, options?: WriteOptions): Promise<WrittenVersion>;
  /** The secret's metadata and kept versions; not found when the secret never existed. */
  versions(tx: SqlExecutor, path: string): Promise<SecretVersions>;
  /** Merges custom metadata (keys given replace existing ones). */
  updateMetadata(tx: SqlExecutor, path: string, metadata: SecretMetadata): Promise<void>;
  /** Names directly under a folder (`a/b/`), sub-folders with a trailing `/`, like Vault's LIST. */
  list(tx: SqlExecutor, folder: string): Promise<string[]>;
  /** Soft-deletes the given versions (default: the latest); undelete can bring them back. */
  softDelete(tx: SqlExecutor, path: string, versions?: number[]): Promise<number[]>;
  undelete(tx: SqlExecutor, path: string, versions: number[]): Promise<void>;
  /** Permanently removes the given versions' values. */
  destroy(tx: SqlExecutor, path: string, versions: number[]): Promise<void>;
  /** For /health/ready. */
  health(): Promise<ReadinessResult>;
  close(): Promise<void>;
}

export const SECRET_BACKEND = Symbol('SECRET_BACKEND');
