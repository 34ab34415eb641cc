import { Injectable } from '@nestjs/common';
import { ApiError } from '@hishamos/platform';
import { CONNECTION_PROBES, providerErrorMessage } from '../../connection-probes';
import { effectiveBaseUrl, PROVIDER_KINDS } from '../../provider-kinds';
import { ProviderConfigRepository } from '../../provider-config.repository';
import { SecretStoreClient } from '../../secrets/secret-store.client';
import { safeGet } from '../../ssrf/safe-http';
import { SsrfPolicy } from '../../ssrf/ssrf-policy.service';

export interface ConnectionTestResult {
  provider: string;
  ok: boolean;
  /** The provider's HTTP status, when it answered. */
  status?: number;
  latencyMs?: number;
  modelCount?: number;
  /** Up to 20 model ids. */
  models?: string[];
  /** The provider's own error message (the key never appears in it). */
  error?: string;
}

const TIMEOUT_MS = 10_000;

/**
 * "Test Connection": lists the provider's models with its key (GET <base>/models; Anthropic
 * <base>/v1/models with x-api-key), through the SSRF guard, and answers success or the provider's
 * error. The result is kept on the provider (lastTest).
 */
@Injectable()
export class TestProviderConnectionUseCase {
  constructor(
    private readonly providers: ProviderConfigRepository,
    private readonly secrets: SecretStoreClient,
    private readonly ssrf: SsrfPolicy,
  ) {}

  async execute(id: string): Promise<ConnectionTestResult> {
    const row = await this.providers.get(id);
    if (!row) throw ApiError.notFound('provider', id);
    if (PROVIDER_KINDS[row.kind]?.offline) {
      await this.providers.recordTest(id, true, null);
      return { provider: id, ok: true, latencyMs: 0, modelCount: 1, models: ['offline'] };
    }
    const probe = CONNECTION_PROBES[row.kind];
    const base = effectiveBaseUrl(row.kind, row.baseUrl);
    if (!probe || !base) throw ApiError.badRequest('kind', `cannot test ${row.kind} providers`);
    let apiKey: string | undefined;
    if (row.apiKeyPath) {
      try {
        apiKey = await this.secrets.get(row.apiKeyPath);
      } catch (error) {
        return this.done(id, {
          provider: id,
          ok: false,
          error: `could not read the API key: ${(error as Error).message}`,
        });
      }
      if (apiKey === undefined)
        return this.done(id, { provider: id, ok: false, error: 'the API key is missing in the secrets service' });
    }
    const request = probe.request(base, apiKey);
    const url = await this.ssrf.check(request.url, 'baseUrl');
    const scrub = (text: string) => (apiKey ? text.split(apiKey).join('[REDACTED]') : text);
    try {
      const res = await safeGet(url, request.headers, { allowed: this.ssrf.isAllowed, timeoutMs: TIMEOUT_MS });
      if (res.status >= 200 && res.status < 300) {
        let models: string[] = [];
        try {
          models = probe.models(JSON.parse(res.body));
        } catch {
          return this.done(id, {
            provider: id,
            ok: false,
            status: res.status,
            latencyMs: res.latencyMs,
            error: 'the provider answered with something other than a JSON model list',
          });
        }
        return this.done(id, {
          provider: id,
          ok: true,
          status: res.status,
          latencyMs: res.latencyMs,
          modelCount: models.length,
          models: models.slice(0, 20),
        });
      }
      return this.done(id, {
        provider: id,
        ok: false,
        status: res.status,
        latencyMs: res.latencyMs,
        error: scrub(providerErrorMessage(res.status, res.body)).slice(0, 1000),
      });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      const reason = e.code === 'EBLOCKEDADDRESS' ? `blocked: ${e.message}` : `${e.code ?? 'error'}: ${e.message}`;
      return this.done(id, { provider: id, ok: false, error: scrub(reason).slice(0, 1000) });
    }
  }

  private async done(id: string, result: ConnectionTestResult): Promise<ConnectionTestResult> {
    await this.providers.recordTest(id, result.ok, result.ok ? null : (result.error ?? null));
    return result;
  }
}
