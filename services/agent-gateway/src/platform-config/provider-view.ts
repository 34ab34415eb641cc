import { effectiveBaseUrl } from './provider-kinds';
import type { ProviderRow } from './provider-config.repository';

/** A provider as the API shows it: whether a key is set and its last four characters, never the key. */
export interface ProviderView {
  id: string;
  kind: string;
  name: string;
  baseUrl: string | null;
  effectiveBaseUrl: string | null;
  defaultModel: string | null;
  enabled: boolean;
  priority: number;
  options: Record<string, unknown>;
  apiKeySet: boolean;
  apiKeyHint: string | null;
  lastTest: { at: string; ok: boolean; error: string | null } | null;
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export function providerView(row: ProviderRow): ProviderView {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    baseUrl: row.baseUrl,
    effectiveBaseUrl: effectiveBaseUrl(row.kind, row.baseUrl) ?? null,
    defaultModel: row.defaultModel,
    enabled: row.enabled,
    priority: row.priority,
    options: row.options,
    apiKeySet: row.apiKeyPath !== null,
    apiKeyHint: row.apiKeyHint ? `…${row.apiKeyHint}` : null,
    lastTest: row.lastTestAt ? { at: row.lastTestAt, ok: row.lastTestOk === true, error: row.lastTestError } : null,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The last four characters of a key, shown as a hint (only for keys long enough that they reveal little). */
export function keyHint(key: string): string | null {
  return key.length >= 16 ? key.slice(-4) : null;
}
