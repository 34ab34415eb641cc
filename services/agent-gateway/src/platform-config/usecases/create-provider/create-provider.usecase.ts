import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../../identity/audit/audit-log.service';
import { actorName, type RequestActor } from '../../../identity/identity.types';
import { toValidCommand } from '../../../identity/validate-command';
import { checkOptions, secretsUnavailable } from '../../provider-fields';
import {
  PROVIDER_ID,
  PROVIDER_KIND_IDS,
  PROVIDER_KINDS,
  providerKeyPath,
  RESERVED_PROVIDER_IDS,
} from '../../provider-kinds';
import { ProviderConfigRepository } from '../../provider-config.repository';
import { keyHint, providerView, type ProviderView } from '../../provider-view';
import { ProviderConfigsService } from '../../provider-configs.service';
import { SecretStoreClient } from '../../secrets/secret-store.client';
import { SsrfPolicy } from '../../ssrf/ssrf-policy.service';

export class CreateProviderCommand {
  /** Registry id, e.g. `openai`, `anthropic`, `my-vllm`. */
  @Matches(PROVIDER_ID, { message: 'id must be 1-40 lowercase letters, digits or "-", starting with a letter' })
  id!: string;

  @IsIn(PROVIDER_KIND_IDS, { message: `kind must be one of ${PROVIDER_KIND_IDS.join(', ')}` })
  kind!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  /** Default: the vendor's API (required for openai-compatible). */
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  baseUrl?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  defaultModel?: string;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  /** Fallback order: lower first (default 100). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10000)
  priority?: number;

  /** Adapter tuning (timeouts, retries, fallback, models); never secrets. */
  @IsOptional()
  @IsObject()
  options?: Record<string, unknown>;

  /** Written to the secrets service (ai/platforms/<id>); never stored here nor returned. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  apiKey?: string;
}

/** Adds a provider (admin): base URL checked against SSRF, the API key stored in the secrets service first. */
@Injectable()
export class CreateProviderUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly providers: ProviderConfigRepository,
    private readonly configs: ProviderConfigsService,
    private readonly secrets: SecretStoreClient,
    private readonly ssrf: SsrfPolicy,
    private readonly audit: AuditLogService,
  ) {}

  async execute(input: CreateProviderCommand, actor: RequestActor): Promise<ProviderView> {
    const command = toValidCommand(CreateProviderCommand, input);
    const kind = PROVIDER_KINDS[command.kind];
    if (RESERVED_PROVIDER_IDS.has(command.id))
      throw ApiError.badRequest('id', `"${command.id}" is reserved`, 'validation_failed');
    if (kind.requiresBaseUrl && !command.baseUrl)
      throw ApiError.badRequest('baseUrl', `required for ${command.kind} providers`, 'validation_failed');
    if (kind.offline && (command.baseUrl || command.apiKey))
      throw ApiError.badRequest(
        command.baseUrl ? 'baseUrl' : 'apiKey',
        'the offline provider takes none',
        'validation_failed',
      );
    checkOptions(command.options);
    const baseUrl = command.baseUrl ? (await this.ssrf.check(command.baseUrl)).toString().replace(/\/+$/, '') : null;
    if (await this.providers.get(command.id))
      throw ApiError.conflict(`provider ${command.id} exists already`, 'provider_exists');

    const path = providerKeyPath(command.id);
    let version: number | null = null;
    if (command.apiKey) {
      try {
        version = (await this.secrets.put(path, command.apiKey, { provider: command.id, kind: command.kind })).version;
      } catch (error) {
        throw secretsUnavailable(error);
      }
    }
    const by = actorName(actor.identity);
    const row = await transactionWithHooks(this.ctx.db, async (tx) => {
      const created = await this.providers
        .insert(
          command.id,
          {
            kind: command.kind,
            name: command.name,
            baseUrl,
            defaultModel: command.defaultModel ?? null,
            enabled: command.enabled ?? true,
            priority: command.priority ?? 100,
            options: command.options ?? {},
            apiKeyPath: command.apiKey ? path : null,
            apiKeyHint: command.apiKey ? keyHint(command.apiKey) : null,
            apiKeyVersion: version,
          },
          by,
          tx,
        )
        .catch((error: unknown) => {
          throw (error as { code?: string }).code === '23505'
            ? ApiError.conflict(`provider ${command.id} exists already`, 'provider_exists')
            : error;
        });
      await this.audit.record(
        {
          actor: by,
          action: 'provider.created',
          resourceType: 'provider',
          resourceId: command.id,
          outcome: 'success',
          ipAddress: actor.ip,
          userAgent: actor.userAgent,
          details: {
            kind: created.kind,
            name: created.name,
            baseUrl: created.baseUrl,
            defaultModel: created.defaultModel,
            enabled: created.enabled,
            priority: created.priority,
            apiKeySet: command.apiKey !== undefined,
          },
        },
        tx,
      );
      return created;
    });
    await this.configs.changed(command.id);
    return providerView(row);
  }
}
