import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import type { IdentitySettings } from '../../../config/identity.settings';
import { AuditLogService } from '../../audit/audit-log.service';
import { LOGIN_TOKEN_AUDIENCE, LOGIN_TOKEN_ISSUER } from '../../auth/gateway.authenticator';
import { LoginThrottle } from '../../auth/login-throttle';
import { IdentityKeyring } from '../../crypto/identity-keyring';
import { signHs256 } from '../../crypto/jwt';
import { PasswordHasher } from '../../crypto/password-hasher';
import { IDENTITY_SETTINGS } from '../../identity-settings.provider';
import type { UserView } from '../../identity.types';
import { ToLowerTrimmed } from '../../users/user-fields';
import { UserRepository, userView } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';

export class LoginCommand {
  @ToLowerTrimmed()
  @IsString()
  @MinLength(3)
  @MaxLength(254)
  email!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  password!: string;
}

export interface LoginResult {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: string;
  user: UserView;
}

/**
 * Console sign-in: email and password (scrypt) -> a short-lived HS256 JWT (JWT_ACCESS_TOKEN_EXPIRE_MINUTES).
 * Wrong email and wrong password answer the same, in the same time; repeated failures are throttled.
 */
@Injectable()
export class LoginUseCase {
  private readonly passwords = new PasswordHasher();

  constructor(
    @Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings,
    private readonly keyring: IdentityKeyring,
    private readonly users: UserRepository,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditLogService,
  ) {}

  async execute(input: LoginCommand, from: { ip?: string; userAgent?: string }): Promise<LoginResult> {
    const command = toValidCommand(LoginCommand, input);
    const keys = [`email:${command.email}`, `ip:${from.ip ?? 'unknown'}`];
    this.throttle.check(keys);
    const user = await this.users.findByEmail(command.email);
    const ok = await this.passwords.verify(command.password, user?.passwordHash);
    if (!user || !ok) {
      this.throttle.failed(keys);
      await this.audit.record({
        actor: user?.id ?? 'anonymous',
        action: 'auth.login',
        resourceType: 'user',
        resourceId: user?.id ?? command.email,
        outcome: 'denied',
        ipAddress: from.ip,
        userAgent: from.userAgent,
        details: { email: command.email, reason: 'invalid email or password' },
      });
      throw new ApiError(401, 'invalid_credentials', 'invalid email or password', {
        field: 'password',
        reason: 'invalid email or password',
      });
    }
    if (user.status !== 'active')
      throw new ApiError(401, 'user_disabled', `user ${user.status}`, { field: 'email', reason: 'user disabled' });
    this.throttle.succeeded(keys[0]);
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = this.settings.JWT_ACCESS_TOKEN_EXPIRE_MINUTES * 60;
    const accessToken = signHs256(
      {
        iss: LOGIN_TOKEN_ISSUER,
        aud: LOGIN_TOKEN_AUDIENCE,
        sub: user.id,
        email: user.email,
        name: user.name,
        roles: user.roles,
        iat: now,
        exp: now + expiresIn,
        jti: randomUUID(),
      },
      this.keyring.jwtSecret,
    );
    await this.audit.record({
      actor: user.id,
      action: 'auth.login',
      resourceType: 'user',
      resourceId: user.id,
      outcome: 'success',
      ipAddress: from.ip,
      userAgent: from.userAgent,
    });
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn,
      expiresAt: new Date((now + expiresIn) * 1000).toISOString(),
      user: userView(user),
    };
  }
}
