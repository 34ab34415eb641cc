/** Limits on user-supplied JSON (document metadata, search filters). */
export interface JsonLimits {
  maxBytes: number;
  maxDepth: number;
  maxKeys: number;
}

export const METADATA_LIMITS: JsonLimits = { maxBytes: 8192, maxDepth: 4, maxKeys: 100 };
export const FILTER_LIMITS: JsonLimits = { maxBytes: 4096, maxDepth: 4, maxKeys: 50 };

/**
 * Why a value is not an acceptable metadata object or containment filter: it must be a JSON
 * object (not an array or a scalar) of strings, finite numbers, booleans, null, arrays and
 * objects, within the limits. Returns the dotted field at fault and the reason, or undefined.
 */
export function jsonObjectProblem(
  value: unknown,
  field: string,
  limits: JsonLimits,
  reservedKeys: readonly string[] = [],
): { field: string; reason: string } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { field, reason: 'must be a JSON object such as {"team": "payments"}' };
  }
  let keys = 0;
  const walk = (v: unknown, path: string, depth: number): { field: string; reason: string } | undefined => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
    if (typeof v === 'number')
      return Number.isFinite(v) ? undefined : { field: path, reason: 'must be a finite number' };
    if (depth > limits.maxDepth) return { field: path, reason: `nests deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const problem = walk(v[i], `${path}[${i}]`, depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    if (typeof v === 'object') {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        keys++;
        if (keys > limits.maxKeys) return { field, reason: `has more than ${limits.maxKeys} keys` };
        if (k.length === 0 || k.length > 100) return { field: path, reason: 'keys must be 1 to 100 characters' };
        const problem = walk(child, `${path}.${k}`, depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    return { field: path, reason: `a ${typeof v} is not a JSON value` };
  };
  const problem = walk(value, field, 1);
  if (problem) return problem;
  for (const key of reservedKeys) {
    if (Object.prototype.hasOwnProperty.call(value, key)) {
      return { field: `${field}.${key}`, reason: `"${key}" is set by the knowledge base; use another key` };
    }
  }
  if (Buffer.byteLength(JSON.stringify(value)) > limits.maxBytes) {
    return { field, reason: `is larger than ${limits.maxBytes} bytes of JSON` };
  }
  return undefined;
}
