import { createHmac, timingSafeEqual } from 'node:crypto';

export const ROLES = ['admin', 'operator', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: a person (API key or JWT, resolved by the gateway) or one of the platform's services. */
export interface Identity {
  kind: 'user' | 'service';
  /** The user id, or the calling service's name. */
  subject: string;
  roles: Role[];
  teamId?: string;
  name?: string;
  /** API key scopes, when the caller used a key. */
  scopes?: string[];
  keyId?: string;
  /** How the identity was established: api_key, jwt, service, or forwarded (signed by the gateway). */
  via: 'api_key' | 'jwt' | 'service' | 'forwarded';
}

export const IDENTITY_HEADER = 'x-hishamos-identity';
export const IDENTITY_SIG_HEADER = 'x-hishamos-identity-sig';
/** How far a forwarded identity's timestamp may be from now. */
const MAX_SKEW_MS = 5 * 60_000;

function mac(token: string, purpose: string, data: string): Buffer {
  return createHmac('sha256', token).update(`${purpose}:${data}`).digest();
}

export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const x = Buffer.isBuffer(a) ? a : Buffer.from(a);
  const y = Buffer.isBuffer(b) ? b : Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The bearer credential a service presents to another: `<caller>.<hmac(SERVICE_TOKEN, caller)>`.
 * The callee knows which service is calling (for per-caller scopes) without the token itself on the wire.
 */
export function serviceCredential(serviceToken: string, caller: string): string {
  return `${caller}.${mac(serviceToken, 'svc', caller).toString('base64url')}`;
}

/** The calling service's name when the credential is valid, compared in constant time. */
export function verifyServiceCredential(serviceToken: string, credential: string): string | undefined {
  const dot = credential.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const caller = credential.slice(0, dot);
  const expected = serviceCredential(serviceToken, caller);
  return safeEqual(expected, credential) ? caller : undefined;
}

/** Headers that carry a person's identity from the gateway to a service, signed with the service token. */
export function signIdentity(serviceToken: string, identity: Identity, now = Date.now()): Record<string, string> {
  const payload = Buffer.from(JSON.stringify({ ...identity, iat: now })).toString('base64url');
  return { [IDENTITY_HEADER]: payload, [IDENTITY_SIG_HEADER]: mac(serviceToken, 'id', payload).toString('base64url') };
}

export function verifyIdentity(
  serviceToken: string,
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): Identity | undefined {
  const payload = headers[IDENTITY_HEADER];
  const sig = headers[IDENTITY_SIG_HEADER];
  if (typeof payload !== 'string' || typeof sig !== 'string') return undefined;
  if (!safeEqual(mac(serviceToken, 'id', payload).toString('base64url'), sig)) return undefined;
  const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Identity & { iat: number };
  if (typeof parsed.iat !== 'number' || Math.abs(now - parsed.iat) > MAX_SKEW_MS) return undefined;
  const { iat: _iat, ...identity } = parsed;
  return { ...identity, via: 'forwarded' };
}
