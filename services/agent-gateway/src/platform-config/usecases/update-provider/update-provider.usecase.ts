import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../../identity/audit/audit-log.service';
import { actorName, type RequestActor } from '../../../identity/identity.types';
import { toValidCommand } from '../../../identity/validate-command';
import { checkOptions, secretsUnavailable } from '../../provider-fields';
import { PROVIDER_KINDS, providerKeyPath } from '../../provider-kinds';
import { ProviderConfigRepository, type ProviderWrite } from '../../provider-config.repository';
import { keyHint, providerView, type ProviderView } from '../../provider-view';
import { ProviderConfigsService } from '../../provider-configs.service';
import { SecretStoreClient } from '../../secrets/secret-store.client';
import { SsrfPolicy } from '../../ssrf/ssrf-policy.service';

export class UpdateProviderCommand {
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name?: string;

  /** null: back to the vendor's default. */
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  baseUrl?: string | null;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  defaultModel?: string | null;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10000)
  priority?: number;

  /** Replaces the options. */
  @IsOptional()
  @IsObject()
  options?: Record<string, unknown>;

  /** A new key (a new version in the secrets service; the old one stays readable for its grace period); null removes it. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  apiKey?: string | null;
}

/** Changes a provider (admin); a new API key is rotated in the secrets service before the change commits. */
@Injectable()
export class UpdateProviderUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db' | 'logger'>,
    private readonly providers: ProviderConfigRepository,
    private readonly configs: ProviderConfigsService,
    private readonly secrets: SecretStoreClient,
    private readonly ssrf: SsrfPolicy,
    private readonly audit: AuditLogService,
  ) {}

  async execute(id: string, input: UpdateProviderCommand, actor: RequestActor): Promise<ProviderView> {
    const command = toValidCommand(UpdateProviderCommand, input);
    const current = await this.providers.get(id);
    if (!current) throw ApiError.notFound('provider', id);
    const kind = PROVIDER_KINDS[current.kind];
    checkOptions(command.options);
    let baseUrl = current.baseUrl;
    if (command.baseUrl !== undefined) {
      if (command.baseUrl === null) {
        if (kind.requiresBaseUrl)
          throw ApiError.badRequest('baseUrl', `required for ${current.kind} providers`, 'validation_failed');
        baseUrl = null;
      } else {
        if (kind.offline) throw ApiError.badRequest('baseUrl', 'the offline provider takes none', 'validation_failed');
        baseUrl = (await this.ssrf.check(command.baseUrl)).toString().replace(/\/+$/, '');
      }
    }
    if (kind.offline && command.apiKey)
      throw ApiError.badRequest('apiKey', 'the offline provider takes none', 'validation_failed');

    const path = providerKeyPath(id);
    let apiKey = { path: current.apiKeyPath, hint: current.apiKeyHint, version: current.apiKeyVersion };
    if (typeof command.apiKey === 'string') {
      try {
        const { version } = current.apiKeyPath
          ? await this.secrets.rotate(path, command.apiKey)
          : await this.secrets.put(path, command.apiKey, { provider: id, kind: current.kind });
        apiKey = { path, hint: keyHint(command.apiKey), version };
      } catch (error) {
        throw secretsUnavailable(error);
      }
    } else if (command.apiKey === null) {
      apiKey = { path: null, hint: null, version: null };
    }
    const next: ProviderWrite = {
      kind: current.kind,
      name: command.name ?? current.name,
      baseUrl,
      defaultModel: command.defaultModel === undefined ? current.defaultModel : command.defaultModel,
      enabled: command.enabled ?? current.enabled,
      priority: command.priority ?? current.priority,
      options: command.options ?? current.options,
      apiKeyPath: apiKey.path,
      apiKeyHint: apiKey.hint,
      apiKeyVersion: apiKey.version,
    };
    const changed: Record<string, unknown> = {};
    for (const k of ['name', 'baseUrl', 'defaultModel', 'enabled', 'priority'] as const)
      if (next[k] !== current[k]) changed[k] = { from: current[k], to: next[k] };
    if (command.options !== undefined) changed.options = { keys: Object.keys(next.options) };
    if (command.apiKey !== undefined) changed.apiKey = command.apiKey === null ? 'removed' : 'replaced';

    const by = actorName(actor.identity);
    const row = await transactionWithHooks(this.ctx.db, async (tx) => {
      if (!(await this.providers.get(id, tx, { forUpdate: true }))) throw ApiError.notFound('provider', id);
      const updated = await this.providers.update(id, next, by, tx);
      await this.audit.record(
        {
          actor: by,
          action: 'provider.updated',
          resourceType: 'provider',
          resourceId: id,
          outcome: 'success',
          ipAddress: actor.ip,
          userAgent: actor.userAgent,
          details: { changed },
        },
        tx,
      );
      return updated;
    });
    if (command.apiKey === null && current.apiKeyPath) {
      await this.secrets
        .delete(current.apiKeyPath)
        .catch((error: Error) =>
          this.ctx.logger.warn(
            { provider: id, err: error.message },
            'provider key removed here but not in the secrets service',
          ),
        );
    }
    await this.configs.changed(id);
    return providerView(row);
  }
}
