import { registerSecretValue } from '@hishamos/platform';
import { loadOrCreateEmbeddedKey } from './local/embedded-key-file';
import { KeyRing, KeyRingError } from './local/key-ring';
import { LocalSecretBackend } from './local/local-secret.backend';
import { SecretBackendRegistry, type SecretBackendDeps } from './secret-backend.registry';
import { VaultSecretBackend } from './vault/vault-secret.backend';
import { VaultSession, vaultFailure, type VaultAuth } from './vault/vault-session';

/** Registers every piece of key material in a key-ring spec so no log line can show it. */
function registerKeyMaterial(spec: string): void {
  registerSecretValue(spec);
  for (const entry of spec.split(',')) {
    const material = entry.includes(':') ? entry.slice(entry.indexOf(':') + 1) : entry;
    registerSecretValue(material.trim());
  }
}

/** The local encrypted store: ENCRYPTION_KEY, or in embedded mode a key file generated in the data dir. */
export async function createLocalBackend(deps: SecretBackendDeps): Promise<LocalSecretBackend> {
  const { settings, logger } = deps;
  let spec = settings.ENCRYPTION_KEY;
  if (spec) registerKeyMaterial(spec);
  if (!spec) {
    if (deps.mode !== 'embedded')
      throw new KeyRingError(
        'ENCRYPTION_KEY is required for the local secret store in distributed mode ' +
          '(e.g. ENCRYPTION_KEY="k1:$(openssl rand -base64 32)"), or configure Vault (VAULT_URL)',
      );
    const key = loadOrCreateEmbeddedKey(deps.dataDir);
    registerKeyMaterial(key.spec);
    spec = key.spec;
    if (key.generated)
      logger.warn(
        { keyFile: key.file },
        'no ENCRYPTION_KEY: generated a master key for the local secret store in the data directory (mode 0600); ' +
          'back it up with the data, the stored secrets cannot be decrypted without it',
      );
    else logger.info({ keyFile: key.file }, 'local secret store: using the master key in the data directory');
  }
  const ring = KeyRing.parse(spec);
  return LocalSecretBackend.open(deps.db, ring, { maxVersions: settings.SECRETS_MAX_VERSIONS });
}

/** Vault KV v2, authenticated with AppRole (VAULT_ROLE_ID + VAULT_SECRET_ID) or VAULT_TOKEN. */
export async function createVaultBackend(deps: SecretBackendDeps): Promise<VaultSecretBackend> {
  const s = deps.settings;
  if (!s.VAULT_URL) throw new Error('SECRETS_BACKEND=vault needs VAULT_URL');
  let auth: VaultAuth;
  if (s.VAULT_ROLE_ID) {
    registerSecretValue(s.VAULT_SECRET_ID);
    auth = { method: 'approle', roleId: s.VAULT_ROLE_ID, secretId: s.VAULT_SECRET_ID, mount: s.VAULT_APPROLE_MOUNT };
  } else if (s.VAULT_TOKEN) {
    registerSecretValue(s.VAULT_TOKEN);
    auth = { method: 'token', token: s.VAULT_TOKEN };
  } else {
    throw new Error('Vault needs VAULT_TOKEN or AppRole credentials (VAULT_ROLE_ID, VAULT_SECRET_ID)');
  }
  const session = new VaultSession({
    url: s.VAULT_URL,
    auth,
    namespace: s.VAULT_NAMESPACE,
    timeoutMs: s.VAULT_TIMEOUT_MS,
    logger: deps.logger,
  });
  try {
    await session.authenticate();
  } catch (e) {
    session.close();
    throw new Error(`Vault at ${s.VAULT_URL} did not authenticate (${auth.method}): ${vaultFailure(e).message}`);
  }
  deps.logger.info(
    { backend: 'vault', url: s.VAULT_URL, auth: auth.method, mount: s.VAULT_MOUNT },
    'Vault authenticated',
  );
  return new VaultSecretBackend(session, {
    mount: s.VAULT_MOUNT,
    pathPrefix: s.VAULT_PATH_PREFIX,
    maxVersions: s.SECRETS_MAX_VERSIONS,
  });
}

export function defaultBackendRegistry(): SecretBackendRegistry {
  return new SecretBackendRegistry().register('vault', createVaultBackend).register('local', createLocalBackend);
}
