import type { SqlExecutor } from '@hishamos/persistence';
import { registerSecretValue, type ReadinessResult } from '@hishamos/platform';
import { CasMismatchError, SecretBackendUnavailableError, SecretNotFoundError } from '../../domain/secret-errors';
import type {
  SecretBackend,
  SecretMetadata,
  SecretVersionInfo,
  SecretVersions,
  SecretVersionValue,
  WriteOptions,
  WrittenVersion,
} from '../secret-backend';
import { VaultCallError, vaultFailure, type VaultSession } from './vault-session';

export interface VaultBackendOptions {
  /** The KV v2 mount, e.g. `secret`. */
  mount: string;
  /** Folder inside the mount for HishamOS's secrets ('' for the root). */
  pathPrefix: string;
  /** max_versions set on secrets this service creates. */
  maxVersions: number;
}

interface KvVersionMetadata {
  created_time?: string;
  deletion_time?: string;
  destroyed?: boolean;
  version?: number;
  custom_metadata?: Record<string, string> | null;
}

interface KvMetadata {
  current_version?: number;
  oldest_version?: number;
  custom_metadata?: Record<string, string> | null;
  versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>;
}

const date = (s: string | undefined): Date | undefined => (s ? new Date(s) : undefined);

/**
 * Vault's KV version 2 engine through node-vault: `<mount>/data/<path>` (read a version, write with
 * `cas`), `<mount>/metadata/<path>` (versions, custom metadata, LIST), `delete/`, `undelete/`,
 * `destroy/`. The value is stored as `{ "value": "<string>" }`. Transactions are not used: Vault
 * is called inside the caller's so a failing audit write withholds the answer.
 */
export class VaultSecretBackend implements SecretBackend {
  readonly id = 'vault' as const;

  constructor(
    private readonly session: VaultSession,
    private readonly options: VaultBackendOptions,
  ) {}

  private full(path: string): string {
    return this.options.pathPrefix ? `${this.options.pathPrefix}/${path}` : path;
  }

  private api(kind: 'data' | 'metadata' | 'delete' | 'undelete' | 'destroy', path: string): string {
    return `${this.options.mount}/${kind}/${this.full(path)}`;
  }

  /** Runs a Vault call; a 403 under AppRole logs in again once and retries. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const failure = vaultFailure(e);
      if (failure.status === 403 && (await this.session.reauthenticate())) {
        try {
          return await fn();
        } catch (e2) {
          throw vaultFailure(e2);
        }
      }
      throw failure;
    }
  }

  private unavailable(operation: string, f: VaultCallError): SecretBackendUnavailableError {
    return new SecretBackendUnavailableError(
      'vault',
      operation,
      f.status !== undefined ? `Vault answered ${f.status}: ${f.message}` : f.message,
    );
  }

  private isFailure(e: unknown): e is VaultCallError {
    return e instanceof VaultCallError;
  }

  async read(_tx: SqlExecutor, path: string, version?: number): Promise<SecretVersionValue> {
    const url = this.api('data', path) + (version !== undefined ? `?version=${version}` : '');
    let res: { data?: { data?: Record<string, unknown> | null; metadata?: KvVersionMetadata } };
    try {
      res = await this.call(() => this.session.client.read(url));
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      if (e.status === 404) {
        const meta = (e.body as { data?: { metadata?: KvVersionMetadata } } | undefined)?.data?.metadata;
        throw new SecretNotFoundError(
          path,
          version,
          meta?.destroyed ? 'destroyed' : meta?.deletion_time ? 'deleted' : undefined,
        );
      }
      throw this.unavailable('read', e);
    }
    const data = res.data?.data;
    const meta = res.data?.metadata ?? {};
    if (!data) throw new SecretNotFoundError(path, version, meta.destroyed ? 'destroyed' : 'deleted');
    const value = typeof data.value === 'string' ? data.value : JSON.stringify(data);
    registerSecretValue(value);
    return {
      path,
      version: meta.version ?? version ?? 0,
      value,
      metadata: { ...(meta.custom_metadata ?? {}) },
      createdAt: date(meta.created_time) ?? new Date(),
    };
  }

  async write(_tx: SqlExecutor, path: string, value: string, options: WriteOptions = {}): Promise<WrittenVersion> {
    registerSecretValue(value);
    const body: { data: { value: string }; options?: { cas: number } } = { data: { value } };
    if (options.cas !== undefined) body.options = { cas: options.cas };
    let res: { data?: KvVersionMetadata };
    try {
      res = await this.call(() => this.session.client.write(this.api('data', path), body));
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      if (e.status === 400 && /check-and-set/i.test(e.message)) {
        const current = await this.versions(_tx, path).then(
          (v) => v.currentVersion,
          () => 0,
        );
        throw new CasMismatchError(path, options.cas ?? 0, current);
      }
      throw this.unavailable('write', e);
    }
    const version = res.data?.version ?? 0;
    const initial = options.initialMetadata ?? {};
    const given = options.metadata ?? {};
    if (Object.keys(initial).length > 0 || Object.keys(given).length > 0 || version === 1)
      await this.mergeMetadata(path, initial, given, version === 1);
    return { path, version, createdAt: date(res.data?.created_time) ?? new Date() };
  }

  private async readMetadata(path: string): Promise<KvMetadata | undefined> {
    try {
      const res = (await this.call(() => this.session.client.read(this.api('metadata', path)))) as {
        data?: KvMetadata;
      };
      return res.data ?? {};
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      if (e.status === 404) return undefined;
      throw this.unavailable('read metadata', e);
    }
  }

  private async mergeMetadata(
    path: string,
    initial: SecretMetadata,
    given: SecretMetadata,
    created: boolean,
  ): Promise<void> {
    const existing = (await this.readMetadata(path))?.custom_metadata ?? {};
    const merged = { ...initial, ...existing, ...given };
    const changed = JSON.stringify(merged) !== JSON.stringify(existing);
    if (!changed && !created) return;
    const body: { custom_metadata: SecretMetadata; max_versions?: number } = { custom_metadata: merged };
    if (created) body.max_versions = this.options.maxVersions;
    try {
      await this.call(() => this.session.client.write(this.api('metadata', path), body));
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      throw this.unavailable('write metadata', e);
    }
  }

  async versions(_tx: SqlExecutor, path: string): Promise<SecretVersions> {
    const meta = await this.readMetadata(path);
    if (!meta) throw new SecretNotFoundError(path);
    const versions: SecretVersionInfo[] = Object.entries(meta.versions ?? {})
      .map(([v, info]) => {
        const deletedAt = date(info.deletion_time);
        return {
          version: Number(v),
          createdAt: date(info.created_time) ?? new Date(0),
          ...(deletedAt ? { deletedAt } : {}),
          destroyed: info.destroyed === true,
        };
      })
      .sort((a, b) => a.version - b.version);
    return {
      path,
      currentVersion: meta.current_version ?? 0,
      oldestVersion: meta.oldest_version ?? 0,
      metadata: { ...(meta.custom_metadata ?? {}) },
      versions,
    };
  }

  async updateMetadata(_tx: SqlExecutor, path: string, metadata: SecretMetadata): Promise<void> {
    if (!(await this.readMetadata(path))) throw new SecretNotFoundError(path);
    await this.mergeMetadata(path, {}, metadata, false);
  }

  async list(_tx: SqlExecutor, folder: string): Promise<string[]> {
    const target = `${this.options.mount}/metadata/${this.full(folder.replace(/\/$/, ''))}`.replace(/\/$/, '') + '/';
    try {
      const res = (await this.call(() => this.session.client.list(target))) as { data?: { keys?: string[] } };
      return [...(res.data?.keys ?? [])].sort();
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      if (e.status === 404) return [];
      throw this.unavailable('list', e);
    }
  }

  async softDelete(_tx: SqlExecutor, path: string, versions?: number[]): Promise<number[]> {
    const meta = await this.readMetadata(path);
    if (!meta || !meta.current_version) throw new SecretNotFoundError(path);
    const targets = versions ?? [meta.current_version];
    const live = targets.filter((v) => {
      const info = meta.versions?.[String(v)];
      return info !== undefined && !info.deletion_time && !info.destroyed;
    });
    try {
      if (versions === undefined) await this.call(() => this.session.client.delete(this.api('data', path)));
      else await this.call(() => this.session.client.write(this.api('delete', path), { versions }));
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      throw this.unavailable('delete', e);
    }
    return live.sort((a, b) => a - b);
  }

  async undelete(_tx: SqlExecutor, path: string, versions: number[]): Promise<void> {
    if (!(await this.readMetadata(path))) throw new SecretNotFoundError(path);
    try {
      await this.call(() => this.session.client.write(this.api('undelete', path), { versions }));
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      throw this.unavailable('undelete', e);
    }
  }

  async destroy(_tx: SqlExecutor, path: string, versions: number[]): Promise<void> {
    if (!(await this.readMetadata(path))) throw new SecretNotFoundError(path);
    try {
      await this.call(() => this.session.client.write(this.api('destroy', path), { versions }));
    } catch (e) {
      if (!this.isFailure(e)) throw e;
      throw this.unavailable('destroy', e);
    }
  }

  async health(): Promise<ReadinessResult> {
    const s = this.session.state;
    const base = {
      backend: this.id,
      auth: this.session.authMethod,
      mount: this.options.mount,
      authenticated: s.authenticated,
      ...(s.ttlSeconds !== undefined ? { tokenTtlSeconds: s.ttlSeconds } : {}),
      ...(s.lastRenewedAt ? { tokenRenewedAt: s.lastRenewedAt.toISOString() } : {}),
      ...(s.error ? { error: s.error } : {}),
    };
    try {
      const h = (await this.session.client.health()) as { sealed?: boolean; initialized?: boolean };
      const ok = s.authenticated && h.sealed !== true && h.initialized !== false;
      return { ok, ...base, sealed: h.sealed === true };
    } catch (e) {
      return { ok: false, ...base, error: `health check failed: ${vaultFailure(e).message}` };
    }
  }

  async close(): Promise<void> {
    this.session.close();
  }
}
