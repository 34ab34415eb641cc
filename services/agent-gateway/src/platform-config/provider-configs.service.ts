import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ProviderConfigPort, ProviderConfigRecord } from '../ports/gateway-ports';
import { ProviderConfigRepository, type ProviderRow } from './provider-config.repository';

const POLL_MS = 5_000;

export function toRecord(row: ProviderRow): ProviderConfigRecord {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    ...(row.baseUrl ? { baseUrl: row.baseUrl } : {}),
    ...(row.defaultModel ? { defaultModel: row.defaultModel } : {}),
    enabled: row.enabled,
    ...(row.apiKeyPath ? { apiKeyPath: row.apiKeyPath } : {}),
    priority: row.priority,
    options: row.options,
    updatedAt: row.updatedAt,
  };
}

/**
 * The PROVIDER_CONFIGS port: provider configs from the gateway's schema, held in memory (the execution
 * path reads them per call). Changes made here notify listeners at once; changes made by another
 * replica are found by polling a fingerprint every 5 s and notify listeners then.
 */
@Injectable()
export class ProviderConfigsService implements ProviderConfigPort, OnModuleInit, OnModuleDestroy {
  private records = new Map<string, ProviderConfigRecord>();
  private stamp = '';
  private loaded?: Promise<unknown>;
  private timer?: NodeJS.Timeout;
  private readonly listeners: ((id: string) => void)[] = [];

  constructor(private readonly repository: ProviderConfigRepository) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async list(): Promise<ProviderConfigRecord[]> {
    await this.ready();
    return [...this.records.values()].sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<ProviderConfigRecord | undefined> {
    await this.ready();
    return this.records.get(id);
  }

  onChange(listener: (id: string) => void): void {
    this.listeners.push(listener);
  }

  /** After a change committed here: reload and tell listeners. */
  async changed(id: string): Promise<void> {
    await this.reload();
    this.emit([id]);
  }

  private async ready(): Promise<void> {
    this.loaded ??= this.reload();
    await this.loaded;
  }

  private async reload(): Promise<string[]> {
    const rows = await this.repository.list();
    const next = new Map(rows.map((r) => [r.id, toRecord(r)]));
    const changed = new Set<string>();
    for (const [id, rec] of next) if (this.records.get(id)?.updatedAt !== rec.updatedAt) changed.add(id);
    for (const id of this.records.keys()) if (!next.has(id)) changed.add(id);
    this.records = next;
    this.stamp = await this.repository.stamp();
    this.loaded ??= Promise.resolve();
    return [...changed];
  }

  private async poll(): Promise<void> {
    try {
      if ((await this.repository.stamp()) === this.stamp) return;
      this.emit(await this.reload());
    } catch {
      // the database is briefly unavailable: the next poll tries again
    }
  }

  private emit(ids: string[]): void {
    for (const id of ids)
      for (const listener of this.listeners) {
        try {
          listener(id);
        } catch {
          // a listener's failure is its own
        }
      }
  }
}
