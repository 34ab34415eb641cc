import type { ApiKeyScope } from '../identity.types';

const ADMIN_PREFIXES = ['/v1/users', '/v1/providers', '/v1/audit-logs'];
const EXECUTE_POSTS = [/^\/v1\/chat\/completions$/, /^\/v1\/completions$/, /^\/v1\/embeddings$/, /^\/v1\/responses$/];
const EXECUTE_AGENT_COMMAND = /^\/v1\/agents\/[^/]+\/commands\/[^/]+$/;
/** Reads an `execute` key may also do (OpenAI clients list models; callers poll their executions). */
const EXECUTE_READS = ['/v1/models', '/v1/executions', '/v1/agents'];

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/**
 * The API key scopes that allow a request (any one of them; `*` allows everything). Scopes only narrow
 * a key: the user's roles still decide what the request may do.
 */
export function acceptedScopes(method: string | undefined, url: string | undefined): ApiKeyScope[] {
  const path = (url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
  const m = (method ?? 'GET').toUpperCase();
  const read = m === 'GET' || m === 'HEAD' || m === 'OPTIONS';
  if (ADMIN_PREFIXES.some((p) => under(path, p))) return ['admin'];
  if (under(path, '/v1/api-keys') || under(path, '/v1/me')) return read ? ['read', 'keys'] : ['keys'];
  if (read) return EXECUTE_READS.some((p) => under(path, p)) ? ['read', 'execute'] : ['read'];
  if (m === 'POST' && (EXECUTE_POSTS.some((r) => r.test(path)) || EXECUTE_AGENT_COMMAND.test(path))) return ['execute'];
  return ['write'];
}

export function scopesAllow(granted: readonly string[] | undefined, accepted: readonly string[]): boolean {
  if (!granted) return true;
  return granted.includes('*') || accepted.some((s) => granted.includes(s));
}
