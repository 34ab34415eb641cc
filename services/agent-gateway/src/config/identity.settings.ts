import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { ROLES, type Role } from '@hishamos/platform';

/** `hos_<8 lowercase letters/digits>_<32-64 letters/digits>`: the only API key format the gateway accepts. */
export const API_KEY_PATTERN = /^hos_[a-z0-9]{8}_[A-Za-z0-9]{32,64}$/;

const toBoolean = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value;

/**
 * The gateway's identity & access settings (users, API keys, JWT, bootstrap admin, SSRF, edge).
 * The gateway's own settings class must extend this one (`class AgentGatewaySettings extends IdentitySettings`),
 * so that `settingsOf(ctx)` carries these fields.
 */
export class IdentitySettings {
  /**
   * HS256 key for the console's sign-in tokens (and for HS256 tokens another system signs with it, as in
   * the seed). Unset: a random key per process (tokens do not survive a restart; several gateway
   * replicas need the same configured key).
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET_KEY must be at least 32 characters' })
  JWT_SECRET_KEY?: string;

  /** The seed's JWT_ALGORITHM: the algorithm of the tokens the gateway issues (HS256 only). */
  @IsIn(['HS256'], {
    message: 'JWT_ALGORITHM must be HS256 (RS256 tokens come from an identity provider via JWT_JWKS_URL)',
  })
  JWT_ALGORITHM = 'HS256';

  /** Lifetime of the tokens `POST /v1/auth/login` issues (the seed's default: 30). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(24 * 60)
  JWT_ACCESS_TOKEN_EXPIRE_MINUTES = 30;

  /** An external identity provider's JWKS (RS256 tokens). Requires JWT_ISSUER and JWT_AUDIENCE. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'JWT_JWKS_URL must be an http(s) URL' })
  JWT_JWKS_URL?: string;

  /** The `iss` RS256 tokens must carry (required with JWT_JWKS_URL). */
  @ValidateIf((s: IdentitySettings) => !!s.JWT_JWKS_URL)
  @IsString({ message: 'JWT_ISSUER is required with JWT_JWKS_URL' })
  JWT_ISSUER?: string;

  /** The `aud` RS256 tokens must carry (required with JWT_JWKS_URL). */
  @ValidateIf((s: IdentitySettings) => !!s.JWT_JWKS_URL)
  @IsString({ message: 'JWT_AUDIENCE is required with JWT_JWKS_URL' })
  JWT_AUDIENCE?: string;

  /** How long a fetched JWKS is used before it is fetched again (an unknown `kid` refetches sooner). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  JWT_JWKS_CACHE_SECONDS = 600;

  /** Creates a user the first time a valid identity-provider token arrives for an unknown person. */
  @Transform(toBoolean)
  @IsBoolean()
  JWT_AUTO_PROVISION: boolean = true;

  /** The role such users get. */
  @IsIn(ROLES)
  JWT_DEFAULT_ROLE: Role = 'member';

  /**
   * The first start's admin API key (format hos_<8>_<32-64>). Unset: one is generated and printed once
   * to stdout.
   */
  @IsOptional()
  @Matches(API_KEY_PATTERN, {
    message: 'HISHAMOS_BOOTSTRAP_API_KEY must look like hos_<8 lowercase letters or digits>_<32-64 letters or digits>',
  })
  HISHAMOS_BOOTSTRAP_API_KEY?: string;

  @IsString()
  HISHAMOS_BOOTSTRAP_ADMIN_EMAIL = 'admin@hishamos.local';

  /** Optional console password for the bootstrap admin (min 12 characters). */
  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'HISHAMOS_BOOTSTRAP_ADMIN_PASSWORD must be at least 12 characters' })
  HISHAMOS_BOOTSTRAP_ADMIN_PASSWORD?: string;

  /**
   * Server-side key of the HMAC-SHA256 that API keys are stored as. Unset: one is generated at first
   * start and kept in the gateway's schema. Changing it invalidates every API key.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'API_KEY_PEPPER must be at least 32 characters' })
  API_KEY_PEPPER?: string;

  /** How long a replica trusts its cached view of an API key / user (revocation elsewhere is seen within it). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3600)
  API_KEY_CACHE_TTL_SECONDS = 30;

  /** Whether new users may use every agent (`all`) or none (`none`) until an admin toggles agents. */
  @IsIn(['all', 'none'])
  DEFAULT_AGENT_ACCESS: 'all' | 'none' = 'all';

  /** How long a provider key read from the secrets service is cached (keep it below the rotation grace). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86400)
  SECRET_CACHE_TTL_SECONDS = 300;

  /** Time to wait for another service's response headers at the edge (streams may then last longer). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  EDGE_UPSTREAM_TIMEOUT_MS = 30000;

  /** Failed sign-ins per email or IP within 15 minutes before sign-in is refused for a while. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  LOGIN_MAX_FAILURES = 10;
}
