import { Inject, Injectable } from '@nestjs/common';
import { IsDefined, IsInt, IsObject, IsOptional, Max, Min } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import type { Caller } from '../../access/caller';
import { AuditedOperationService } from '../../audit/audited-operation.service';
import { LocalSecretBackend } from '../../backends/local/local-secret.backend';
import { SECRET_BACKEND, type SecretBackend } from '../../backends/secret-backend';
import { SECRETS_SETTINGS, type SecretsSettings } from '../../config/secrets.settings';
import { SecretsMetrics } from '../../secrets.metrics';
import { toValidCommand } from '../to-valid-command';

/** The audit path of operations on the key ring itself. */
export const KEYRING_PATH = 'keyring';

export class RotateMasterKeyCommand {
  @IsDefined()
  @IsObject()
  caller!: Caller;

  /** Values re-encrypted per transaction (default SECRETS_REKEY_BATCH_SIZE). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  batchSize?: number;
}

export interface KeyRingStatus {
  backend: string;
  activeKeyId: string;
  keyIds: string[];
  /** Values per master key id; only the active one once re-encryption is done. */
  valuesByKey: Record<string, number>;
}

export interface RotateMasterKeyResult extends KeyRingStatus {
  reencrypted: number;
  batches: number;
}

/**
 * Master-key rotation of the local store without downtime. The operator puts the new key first in
 * ENCRYPTION_KEY, keeping the old one (`ENCRYPTION_KEY="k2:<new>,k1:<old>"`) and restarts: new values
 * use k2 at once, old ones stay readable under k1. This use case then re-encrypts every value still
 * under an older key, in batches of short transactions (each audited), while reads and writes go on.
 * When valuesByKey shows only the active key, the old key can leave ENCRYPTION_KEY.
 */
@Injectable()
export class RotateMasterKeyUseCase {
  constructor(
    private readonly operations: AuditedOperationService,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    @Inject(SECRETS_SETTINGS) private readonly settings: SecretsSettings,
    private readonly metrics: SecretsMetrics,
  ) {}

  private local(): LocalSecretBackend {
    if (!(this.backend instanceof LocalSecretBackend))
      throw new ApiError(
        409,
        'not_applicable',
        `the active secret backend is ${this.backend.id}: master-key rotation applies to the local store (Vault manages its own keys)`,
      );
    return this.backend;
  }

  /** The key ring's state (who may re-encrypt may see it; a denial is audited). */
  async status(caller: Caller): Promise<KeyRingStatus> {
    await this.operations.authorize({ caller, action: 'rekey', path: KEYRING_PATH, details: { request: 'status' } });
    const local = this.local();
    return {
      backend: local.id,
      activeKeyId: local.keyRing.activeKeyId,
      keyIds: local.keyRing.keyIds,
      valuesByKey: await local.valuesByKey(),
    };
  }

  async execute(input: RotateMasterKeyCommand): Promise<RotateMasterKeyResult> {
    const command = toValidCommand(RotateMasterKeyCommand, input);
    const limit = command.batchSize ?? this.settings.SECRETS_REKEY_BATCH_SIZE;
    let total = 0;
    let batches = 0;
    for (;;) {
      const n = await this.operations.run(
        { caller: command.caller, action: 'rekey', path: KEYRING_PATH },
        async (tx) => {
          const local = this.local();
          const r = await local.reencryptBatch(tx, limit);
          return {
            result: r.reencrypted,
            details: { reencrypted: r.reencrypted, fromKeyIds: r.fromKeyIds, toKeyId: local.keyRing.activeKeyId },
            skipAudit: r.reencrypted === 0 && batches > 0,
          };
        },
      );
      batches += 1;
      total += n;
      this.metrics.reencrypted.inc(n);
      if (n === 0) break;
    }
    const local = this.local();
    return {
      backend: local.id,
      activeKeyId: local.keyRing.activeKeyId,
      keyIds: local.keyRing.keyIds,
      valuesByKey: await local.valuesByKey(),
      reencrypted: total,
      batches,
    };
  }
}
