import type { Logger } from '@hishamos/platform';
import type { Database } from '@hishamos/persistence';
import type { SecretsSettings } from '../config/secrets.settings';
import type { SecretBackend, SecretBackendId } from './secret-backend';

export interface SecretBackendDeps {
  settings: SecretsSettings;
  db: Database;
  logger: Logger;
  mode: 'embedded' | 'distributed';
  dataDir: string;
}

/** Builds a backend, or throws (with a message naming no secret) when it cannot be used. */
export type SecretBackendFactory = (deps: SecretBackendDeps) => Promise<SecretBackend>;

/** The secret backends by id; the selector picks one at boot. */
export class SecretBackendRegistry {
  private readonly factories = new Map<SecretBackendId, SecretBackendFactory>();

  register(id: SecretBackendId, factory: SecretBackendFactory): this {
    this.factories.set(id, factory);
    return this;
  }

  has(id: SecretBackendId): boolean {
    return this.factories.has(id);
  }

  async create(id: SecretBackendId, deps: SecretBackendDeps): Promise<SecretBackend> {
    const factory = this.factories.get(id);
    if (!factory) throw new Error(`no secret backend registered as ${id}`);
    return factory(deps);
  }
}

export interface SelectedBackend {
  backend: SecretBackend;
  /** Why Vault was not used although VAULT_URL is set (SECRETS_BACKEND=auto fell back to local). */
  fallbackReason?: string;
}

/**
 * The seed's choice, made once at boot: Vault when VAULT_URL is set and its token or AppRole
 * authenticates, otherwise the local encrypted store. SECRETS_BACKEND=vault refuses to fall back;
 * SECRETS_BACKEND=local never tries Vault.
 */
export async function selectSecretBackend(
  registry: SecretBackendRegistry,
  deps: SecretBackendDeps,
): Promise<SelectedBackend> {
  const { settings, logger } = deps;
  const choice = settings.SECRETS_BACKEND;
  if (choice === 'local') return { backend: await registry.create('local', deps) };
  if (choice === 'vault') return { backend: await registry.create('vault', deps) };
  if (!settings.VAULT_URL) return { backend: await registry.create('local', deps) };
  try {
    return { backend: await registry.create('vault', deps) };
  } catch (e) {
    const fallbackReason = (e as Error).message;
    logger.warn(
      { backend: 'local', vaultUrl: settings.VAULT_URL, reason: fallbackReason },
      'Vault is configured but did not authenticate: using the local encrypted secret store (set SECRETS_BACKEND=vault to refuse instead)',
    );
    return { backend: await registry.create('local', deps), fallbackReason };
  }
}
