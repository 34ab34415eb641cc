import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal values always serialise the same way. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 (hex) of the canonical JSON of a value. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/**
 * The hash that says whether a template version's content changed: template text and both schemas.
 * Key order counts (the output schema's properties are the answer's sections, in order), so this
 * hashes JSON.stringify's order-preserving text rather than the canonical form.
 */
export function templateContentHash(template: string, inputSchema: unknown, outputSchema: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([template, inputSchema, outputSchema]))
    .digest('hex');
}
