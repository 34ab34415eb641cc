import { acceptedScopes, scopesAllow } from './scope-policy';

describe('API key scopes per route', () => {
  it.each([
    ['GET', '/v1/users', ['admin']],
    ['POST', '/v1/providers/openai/test', ['admin']],
    ['GET', '/v1/audit-logs?limit=5', ['admin']],
    ['GET', '/v1/api-keys', ['read', 'keys']],
    ['POST', '/v1/api-keys', ['keys']],
    ['POST', '/v1/me/password', ['keys']],
    ['GET', '/v1/models', ['read', 'execute']],
    ['GET', '/v1/executions/123', ['read', 'execute']],
    ['POST', '/v1/chat/completions', ['execute']],
    ['POST', '/v1/embeddings', ['execute']],
    ['POST', '/v1/agents/legal/commands/review_contract', ['execute']],
    ['PUT', '/v1/agents/legal/commands/review_contract/labels/production', ['write']],
    ['GET', '/v1/tasks', ['read']],
    ['POST', '/v1/tasks', ['write']],
    ['DELETE', '/v1/budgets/1', ['write']],
  ])('%s %s needs one of %j', (method, url, scopes) => {
    expect(acceptedScopes(method, url)).toEqual(scopes);
  });

  it('lets * do everything and only narrows', () => {
    expect(scopesAllow(['*'], ['admin'])).toBe(true);
    expect(scopesAllow(['read'], ['read', 'execute'])).toBe(true);
    expect(scopesAllow(['execute'], ['write'])).toBe(false);
    expect(scopesAllow(undefined, ['admin'])).toBe(true);
  });
});
