import { Inject, Injectable, Optional } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { registerSecretValue, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { IdentitySettings } from '../../../config/identity.settings';
import { ApiKeyRepository } from '../../api-keys/api-key.repository';
import { AuditLogService } from '../../audit/audit-log.service';
import { ApiKeyHasher, generateApiKey, parseApiKey } from '../../crypto/api-key-codec';
import { IdentityKeyring } from '../../crypto/identity-keyring';
import { PasswordHasher } from '../../crypto/password-hasher';
import { IDENTITY_SETTINGS } from '../../identity-settings.provider';
import { UserRepository } from '../../users/user.repository';

/** Where the generated key is printed once (stdout, not the logger: the logger masks it). */
export const BOOTSTRAP_OUTPUT = Symbol('BOOTSTRAP_OUTPUT');
export type BootstrapOutput = (text: string) => void;

const SYSTEM = 'system:bootstrap';

export interface BootstrapResult {
  created: boolean;
  userId?: string;
  /** Whether the key was generated (and printed) rather than taken from HISHAMOS_BOOTSTRAP_API_KEY. */
  generated?: boolean;
}

export function bootstrapBanner(email: string, key: string): string {
  const line = '='.repeat(72);
  return [
    line,
    `HishamOS first start: created the admin user ${email}`,
    'Admin API key (shown this once; it is stored hashed and cannot be shown again):',
    '',
    `    ${key}`,
    '',
    'Use it as "Authorization: Bearer <key>" or: export HISHAMOS_API_KEY=<key>',
    'Create more keys and users with it, then revoke it if you like (DELETE /v1/api-keys/<id>).',
    line,
    '',
  ].join('\n');
}

/**
 * First start: when there is no user at all, creates an admin with an API key from
 * HISHAMOS_BOOTSTRAP_API_KEY, or a generated one printed once to stdout. Later starts do nothing
 * (several replicas starting together create one admin: advisory lock).
 */
@Injectable()
export class BootstrapAdminUseCase {
  private readonly passwords = new PasswordHasher();
  private readonly output: BootstrapOutput;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db' | 'logger'>,
    @Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings,
    private readonly keyring: IdentityKeyring,
    private readonly users: UserRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly audit: AuditLogService,
    @Optional() @Inject(BOOTSTRAP_OUTPUT) output?: BootstrapOutput,
  ) {
    this.output = output ?? ((text) => void process.stdout.write(text));
  }

  async execute(): Promise<BootstrapResult> {
    await this.keyring.ready();
    const configured = this.settings.HISHAMOS_BOOTSTRAP_API_KEY
      ? parseApiKey(this.settings.HISHAMOS_BOOTSTRAP_API_KEY)
      : undefined;
    if (configured) registerSecretValue(configured.key);
    const passwordHash = this.settings.HISHAMOS_BOOTSTRAP_ADMIN_PASSWORD
      ? await this.passwords.hash(this.settings.HISHAMOS_BOOTSTRAP_ADMIN_PASSWORD)
      : null;
    const email = this.settings.HISHAMOS_BOOTSTRAP_ADMIN_EMAIL.trim().toLowerCase();
    const result = await transactionWithHooks(this.ctx.db, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('identity:bootstrap'))`);
      if ((await this.users.count(tx)) > 0) return { created: false } as BootstrapResult;
      const key = configured ?? generateApiKey();
      registerSecretValue(key.key);
      const admin = await this.users.insert(
        {
          email,
          name: 'Administrator',
          passwordHash,
          roles: ['admin'],
          teamId: null,
          defaultAgentAccess: 'all',
          createdBy: SYSTEM,
        },
        tx,
      );
      const created = await this.apiKeys.insert(
        {
          userId: admin.id,
          name: 'bootstrap',
          prefix: key.prefix,
          keyHash: this.keyring.apiKeyHasher.hash(key.key),
          hashScheme: ApiKeyHasher.SCHEME,
          scopes: ['*'],
          expiresAt: null,
          createdBy: SYSTEM,
        },
        tx,
      );
      await this.audit.record(
        {
          actor: SYSTEM,
          action: 'user.created',
          resourceType: 'user',
          resourceId: admin.id,
          outcome: 'success',
          details: { email, roles: ['admin'], bootstrap: true, passwordSet: passwordHash !== null },
        },
        tx,
      );
      await this.audit.record(
        {
          actor: SYSTEM,
          action: 'api_key.created',
          resourceType: 'api_key',
          resourceId: created.id,
          outcome: 'success',
          details: {
            userId: admin.id,
            name: 'bootstrap',
            prefix: key.prefix,
            scopes: ['*'],
            source: configured ? 'HISHAMOS_BOOTSTRAP_API_KEY' : 'generated',
          },
        },
        tx,
      );
      // Printed before the commit: a failed commit prints a key that never worked (and the next start
      // prints a new one); printing after it could lose the only admin key to a crash in between.
      if (!configured) this.output(bootstrapBanner(email, key.key));
      return { created: true, userId: admin.id, generated: !configured };
    });
    if (result.created)
      this.ctx.logger.info(
        {
          userId: result.userId,
          email,
          keySource: result.generated ? 'generated (printed once)' : 'HISHAMOS_BOOTSTRAP_API_KEY',
        },
        'bootstrap admin created',
      );
    else if (configured && !(await this.apiKeys.prefixExists(configured.prefix)))
      this.ctx.logger.warn('HISHAMOS_BOOTSTRAP_API_KEY is ignored: it is used only on the first start (users exist)');
    return result;
  }
}
