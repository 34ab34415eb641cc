import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { SYSTEM_CALLER } from './access/caller';
import { LocalSecretBackend } from './backends/local/local-secret.backend';
import { SECRET_BACKEND, type SecretBackend } from './backends/secret-backend';
import { SECRETS_SETTINGS, type SecretsSettings } from './config/secrets.settings';
import { ExpireRotatedVersionsUseCase } from './usecases/expire-rotated-versions/expire-rotated-versions.usecase';
import { RotateMasterKeyUseCase } from './usecases/rotate-master-key/rotate-master-key.usecase';

/**
 * Background work: the rotation grace sweeper (every SECRETS_SWEEP_INTERVAL_SECONDS) and, at start,
 * re-encryption of values still under an older master key (SECRETS_REKEY_ON_BOOT). Stops with the app.
 */
@Injectable()
export class SecretsScheduler implements OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(SECRETS_SETTINGS) private readonly settings: SecretsSettings,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    private readonly expire: ExpireRotatedVersionsUseCase,
    private readonly rekey: RotateMasterKeyUseCase,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.track(this.sweep()), this.settings.SECRETS_SWEEP_INTERVAL_SECONDS * 1000);
    this.timer.unref();
    this.track(this.sweep());
    if (this.settings.SECRETS_REKEY_ON_BOOT && this.backend instanceof LocalSecretBackend)
      this.track(this.reencryptOnBoot(this.backend));
  }

  private track(p: Promise<unknown>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      const { expired } = await this.expire.execute({});
      if (expired > 0) this.ctx.logger.info({ expired }, 'rotation grace periods ended: old versions soft-deleted');
    } catch (e) {
      this.ctx.logger.warn(
        { error: (e as Error).message },
        'rotation grace sweep failed; retrying at the next interval',
      );
    }
  }

  private async reencryptOnBoot(local: LocalSecretBackend): Promise<void> {
    try {
      const byKey = await local.valuesByKey();
      const pending = Object.entries(byKey).filter(([id]) => id !== local.keyRing.activeKeyId);
      if (pending.length === 0) return;
      this.ctx.logger.info(
        { activeKeyId: local.keyRing.activeKeyId, pending: Object.fromEntries(pending) },
        're-encrypting secret values under the active master key',
      );
      const r = await this.rekey.execute({ caller: SYSTEM_CALLER });
      this.ctx.logger.info(
        { reencrypted: r.reencrypted, valuesByKey: r.valuesByKey },
        'master-key re-encryption done: older keys can leave ENCRYPTION_KEY',
      );
    } catch (e) {
      this.ctx.logger.warn({ error: (e as Error).message }, 'master-key re-encryption at start failed');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.running]);
    await this.backend.close();
  }
}
