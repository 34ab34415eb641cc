import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { registerSecretValue, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { IdentitySettings } from '../../config/identity.settings';
import { IDENTITY_SETTINGS } from '../identity-settings.provider';
import { ApiKeyHasher, randomSecret } from './api-key-codec';

const PEPPER = 'api_key_pepper';

/**
 * The gateway's identity keys: the JWT signing key (JWT_SECRET_KEY, else random per process) and the
 * API key pepper (API_KEY_PEPPER, else generated once and kept in the gateway's schema). Both are
 * registered with the logger so they are masked wherever they would appear.
 */
@Injectable()
export class IdentityKeyring implements OnModuleInit {
  private jwt?: string;
  private hasher?: ApiKeyHasher;
  private initialising?: Promise<void>;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db' | 'logger' | 'config'>,
    @Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings,
  ) {}

  onModuleInit(): Promise<void> {
    return this.ready();
  }

  ready(): Promise<void> {
    this.initialising ??= this.init();
    return this.initialising;
  }

  get jwtSecret(): string {
    if (!this.jwt) throw new Error('identity keys not initialised');
    return this.jwt;
  }

  get apiKeyHasher(): ApiKeyHasher {
    if (!this.hasher) throw new Error('identity keys not initialised');
    return this.hasher;
  }

  private async init(): Promise<void> {
    this.jwt = this.settings.JWT_SECRET_KEY ?? randomSecret(48);
    if (!this.settings.JWT_SECRET_KEY && this.ctx.config.HISHAMOS_MODE === 'distributed')
      this.ctx.logger.warn(
        'JWT_SECRET_KEY is not set: sign-in tokens use a random key of this process and are rejected by other gateway replicas and after a restart',
      );
    registerSecretValue(this.jwt);
    let pepper = this.settings.API_KEY_PEPPER;
    if (!pepper) {
      await this.ctx.db.query(
        `INSERT INTO identity_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
        [PEPPER, randomSecret(32)],
      );
      const [row] = await this.ctx.db.query<{ value: string }>(`SELECT value FROM identity_state WHERE name = $1`, [
        PEPPER,
      ]);
      pepper = row.value;
    }
    registerSecretValue(pepper);
    this.hasher = new ApiKeyHasher(pepper);
  }
}
