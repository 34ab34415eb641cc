import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';

const toBoolean = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase()) : value;

/** The secrets service's own environment (validated at boot; see README "Secrets service"). */
export class SecretsSettings {
  /**
   * `auto` (the seed's behaviour): Vault when VAULT_URL is set and its token or AppRole authenticates,
   * else the local encrypted store. `vault`: Vault or refuse to start. `local`: the local store.
   */
  @IsIn(['auto', 'vault', 'local'])
  SECRETS_BACKEND: 'auto' | 'vault' | 'local' = 'auto';

  /**
   * Master keys of the local store, a key ring: `k2:<base64 32 bytes>,k1:<base64 32 bytes>` (the first
   * is active; the others only decrypt until re-encryption has moved every value), or one base64
   * 32-byte key (key id `default`).
   */
  @IsOptional()
  @IsString()
  ENCRYPTION_KEY?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  VAULT_URL?: string;

  @IsOptional()
  @IsString()
  VAULT_TOKEN?: string;

  /** AppRole credentials (used instead of VAULT_TOKEN when both are set). */
  @IsOptional()
  @IsString()
  VAULT_ROLE_ID?: string;

  @IsOptional()
  @IsString()
  VAULT_SECRET_ID?: string;

  @IsString()
  @Matches(/^[a-zA-Z0-9_-]+(\/[a-zA-Z0-9_-]+)*$/)
  VAULT_APPROLE_MOUNT = 'approle';

  /** The KV version 2 secrets engine's mount. */
  @IsString()
  @Matches(/^[a-zA-Z0-9_-]+(\/[a-zA-Z0-9_-]+)*$/)
  VAULT_MOUNT = 'secret';

  /** Folder inside the mount under which HishamOS keeps its secrets (empty for the mount's root). */
  @IsString()
  @Matches(/^([a-zA-Z0-9_-]+(\/[a-zA-Z0-9_-]+)*)?$/)
  VAULT_PATH_PREFIX = 'hishamos';

  @IsOptional()
  @IsString()
  VAULT_NAMESPACE?: string;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60000)
  VAULT_TIMEOUT_MS = 5000;

  /**
   * Per-caller path scopes, JSON: {"<service>": ["<pattern>", ...]}. A pattern is a path, `*` at its
   * end matches any rest, `+` matches one segment (Vault policy globs).
   */
  @IsOptional()
  @IsString()
  @MinLength(2)
  SECRETS_SCOPES?: string;

  /** Paths that administrators forwarded by the gateway may manage (comma-separated patterns). */
  @IsString()
  SECRETS_ADMIN_SCOPES = 'ai/platforms/*';

  /** Whether forwarded administrators may read secret values back (they can always write and rotate). */
  @Transform(toBoolean)
  @IsBoolean()
  SECRETS_ADMIN_CAN_READ_VALUES = false;

  /** Services (comma-separated) allowed to run master-key re-encryption besides forwarded administrators. */
  @IsString()
  SECRETS_ADMIN_SERVICES = '';

  /** How long the previous version stays readable after a rotation. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(30 * 24 * 3600)
  SECRETS_ROTATION_GRACE_SECONDS = 3600;

  /** Versions kept per secret (like KV v2's max_versions). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  SECRETS_MAX_VERSIONS = 10;

  /** How often expired rotation grace periods are swept (old versions soft-deleted). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  SECRETS_SWEEP_INTERVAL_SECONDS = 30;

  /** Re-encrypt values still under an older master key in the background at start. */
  @Transform(toBoolean)
  @IsBoolean()
  SECRETS_REKEY_ON_BOOT = true;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  SECRETS_REKEY_BATCH_SIZE = 100;
}

/** Nest token of the validated SecretsSettings. */
export const SECRETS_SETTINGS = Symbol('SECRETS_SETTINGS');
