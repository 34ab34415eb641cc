import { Injectable } from '@nestjs/common';
import { AllowedHostRepository } from '../provider-config.repository';
import { checkBaseUrl, guardedLookup, normalizeHost, systemResolver, type Resolver } from './ssrf-guard';

const REFRESH_MS = 10_000;

/**
 * The SSRF policy with the admin's allow-list (kept in memory, reloaded every 10 s so other replicas'
 * changes arrive): checks base URLs, and gives a `lookup` for connections (usable by provider adapters
 * through node:http(s) agents) that refuses blocked addresses at connect time.
 */
@Injectable()
export class SsrfPolicy {
  private hosts = new Set<string>();
  private loadedAt = 0;
  private loading?: Promise<void>;
  /** Replaced in tests to resolve names without DNS. */
  resolver: Resolver = systemResolver;

  constructor(private readonly repository: AllowedHostRepository) {}

  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.loadedAt < REFRESH_MS) return;
    this.loading ??= this.repository
      .list()
      .then((rows) => {
        this.hosts = new Set(rows.map((r) => r.host));
        this.loadedAt = Date.now();
      })
      .finally(() => (this.loading = undefined));
    await this.loading;
  }

  /** Whether an admin allowed this host (call `refresh()` first for a fresh view). */
  isAllowed = (host: string): boolean => this.hosts.has(normalizeHost(host));

  async check(baseUrl: string, field = 'baseUrl'): Promise<URL> {
    await this.refresh();
    return checkBaseUrl(baseUrl, this.isAllowed, this.resolver, field);
  }

  /** For `new https.Agent({ lookup })` in adapters: connections to blocked addresses fail. */
  lookup() {
    return guardedLookup(this.isAllowed);
  }
}
