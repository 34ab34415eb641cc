import type { Caller } from './caller';
import { PathScope } from './path-scope';
import { SecretAccessPolicy } from './secret-access.policy';

const svc = (id: string): Caller => ({ kind: 'service', id, roles: [], forwarded: false });
const admin: Caller = { kind: 'user', id: 'u1', roles: ['admin'], forwarded: true };
const member: Caller = { kind: 'user', id: 'u2', roles: ['member'], forwarded: true };

const policy = (over: Partial<ConstructorParameters<typeof SecretAccessPolicy>[0]> = {}) =>
  new SecretAccessPolicy({ adminScopes: 'ai/platforms/*', adminCanReadValues: false, adminServices: '', ...over });

describe('PathScope (Vault policy globs)', () => {
  it('matches literal paths, + for one segment and a trailing * for any rest', () => {
    expect(new PathScope('ai/platforms/*').matches('ai/platforms/openai')).toBe(true);
    expect(new PathScope('ai/platforms/*').matches('ai/platforms/openai/extra')).toBe(true);
    expect(new PathScope('ai/platforms/*').matches('ai/platformsx')).toBe(false);
    expect(new PathScope('ai/platforms/*').matches('ai/other')).toBe(false);
    expect(new PathScope('channels/+/token').matches('channels/slack/token')).toBe(true);
    expect(new PathScope('channels/+/token').matches('channels/a/b/token')).toBe(false);
    expect(new PathScope('webhooks/github').matches('webhooks/github')).toBe(true);
    expect(new PathScope('webhooks/github').matches('webhooks/github2')).toBe(false);
    expect(new PathScope('a.b/*').matches('aXb/c')).toBe(false);
  });

  it('covers a folder for listing only with a trailing *', () => {
    expect(new PathScope('ai/platforms/*').coversFolder('ai/platforms/')).toBe(true);
    expect(new PathScope('ai/platforms/*').coversFolder('ai/')).toBe(false);
    expect(new PathScope('ai/platforms/openai').coversFolder('ai/platforms/')).toBe(false);
  });

  it('rejects malformed patterns', () => {
    for (const p of ['', 'a/*/b', 'a//b', '../x', 'a b']) expect(PathScope.isValid(p)).toBe(false);
    expect(() => new PathScope('a/*/b')).toThrow(/invalid path scope/);
  });
});

describe('SecretAccessPolicy', () => {
  it('gives each service the default scopes of contracts.md', () => {
    const p = policy();
    expect(p.decide(svc('agent-gateway'), 'read', 'ai/platforms/openai')).toEqual({ allowed: true });
    expect(p.decide(svc('agent-gateway'), 'write', 'providers/x')).toEqual({ allowed: true });
    expect(p.decide(svc('agent-gateway'), 'read', 'channels/slack')).toMatchObject({ allowed: false });
    expect(p.decide(svc('alerting'), 'read', 'channels/slack')).toEqual({ allowed: true });
    expect(p.decide(svc('alerting'), 'rotate', 'webhooks/github')).toEqual({ allowed: true });
    expect(p.decide(svc('alerting'), 'read', 'ai/platforms/openai')).toMatchObject({ allowed: false });
    expect(p.decide(svc('orchestrator'), 'read', 'ai/platforms/openai')).toMatchObject({ allowed: false });
    expect(p.decide(svc('agent-gateway'), 'list', 'ai/platforms/')).toEqual({ allowed: true });
    expect(p.decide(svc('agent-gateway'), 'list', 'ai/')).toMatchObject({ allowed: false });
    expect(p.decide(svc('agent-gateway'), 'list', '')).toMatchObject({ allowed: false });
  });

  it('replaces the defaults with SECRETS_SCOPES', () => {
    const p = policy({ scopesJson: JSON.stringify({ orchestrator: ['workflows/+/token'] }) });
    expect(p.decide(svc('orchestrator'), 'read', 'workflows/w1/token')).toEqual({ allowed: true });
    expect(p.decide(svc('agent-gateway'), 'read', 'ai/platforms/openai')).toMatchObject({ allowed: false });
    expect(p.scopesOf('orchestrator')).toEqual(['workflows/+/token']);
  });

  it('refuses malformed SECRETS_SCOPES at boot', () => {
    expect(() => policy({ scopesJson: '{' })).toThrow(/must be JSON/);
    expect(() => policy({ scopesJson: '[]' })).toThrow(/JSON object/);
    expect(() => policy({ scopesJson: '{"a": "x/*"}' })).toThrow(/list of path patterns/);
    expect(() => policy({ scopesJson: '{"a": ["x/*/y"]}' })).toThrow(/SECRETS_SCOPES.a: invalid path scope/);
  });

  it('lets forwarded administrators manage ai/platforms/* but not read values unless allowed', () => {
    const p = policy();
    expect(p.decide(admin, 'write', 'ai/platforms/openai')).toEqual({ allowed: true });
    expect(p.decide(admin, 'rotate', 'ai/platforms/openai')).toEqual({ allowed: true });
    expect(p.decide(admin, 'versions', 'ai/platforms/openai')).toEqual({ allowed: true });
    expect(p.decide(admin, 'read', 'ai/platforms/openai')).toMatchObject({ allowed: false });
    expect(p.decide(admin, 'write', 'channels/slack')).toMatchObject({ allowed: false });
    expect(p.decide(member, 'write', 'ai/platforms/openai')).toMatchObject({ allowed: false });
    expect(p.decide({ ...admin, forwarded: false }, 'write', 'ai/platforms/openai')).toMatchObject({ allowed: false });
    expect(policy({ adminCanReadValues: true }).decide(admin, 'read', 'ai/platforms/openai')).toEqual({
      allowed: true,
    });
  });

  it('limits re-encryption to administrators, configured services and the service itself', () => {
    const p = policy({ adminServices: 'agent-gateway' });
    expect(p.decide(admin, 'rekey', 'keyring')).toEqual({ allowed: true });
    expect(p.decide(svc('agent-gateway'), 'rekey', 'keyring')).toEqual({ allowed: true });
    expect(p.decide(svc('alerting'), 'rekey', 'keyring')).toMatchObject({ allowed: false });
    expect(p.decide(member, 'rekey', 'keyring')).toMatchObject({ allowed: false });
    expect(p.decide({ kind: 'system', id: 'secrets', roles: [], forwarded: false }, 'rekey', 'keyring')).toEqual({
      allowed: true,
    });
    expect(p.decide(svc('agent-gateway'), 'expire', 'ai/platforms/x')).toMatchObject({ allowed: false });
  });
});
