import { createHmac, verify as verifySignature, type KeyObject } from 'node:crypto';
import { safeEqual } from '@hishamos/platform';

export interface JwtHeader {
  alg?: string;
  typ?: string;
  kid?: string;
}

export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  email?: string;
  name?: string;
  [claim: string]: unknown;
}

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

/** A token that is not acceptable; the message says why (never echoes the token). */
export class JwtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwtError';
  }
}

const b64urlJson = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const SEGMENT = /^[A-Za-z0-9_-]+$/;

export function signHs256(claims: JwtClaims, secret: string): string {
  const signingInput = `${b64urlJson({ alg: 'HS256', typ: 'JWT' })}.${b64urlJson(claims)}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw new JwtError('malformed token');
  let header: JwtHeader;
  let claims: JwtClaims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as JwtHeader;
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as JwtClaims;
  } catch {
    throw new JwtError('malformed token');
  }
  if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null)
    throw new JwtError('malformed token');
  return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
}

export function verifyHs256(jwt: DecodedJwt, secret: string): boolean {
  return safeEqual(createHmac('sha256', secret).update(jwt.signingInput).digest(), jwt.signature);
}

export function verifyRs256(jwt: DecodedJwt, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== 'rsa') return false;
  return verifySignature('RSA-SHA256', Buffer.from(jwt.signingInput), key, jwt.signature);
}

/**
 * Checks `exp` (required), `nbf`, `iss` and `aud` with a small clock leeway.
 */
export function checkClaims(
  claims: JwtClaims,
  expected: { issuer?: string; audience?: string; nowSeconds?: number; leewaySeconds?: number },
): void {
  const now = expected.nowSeconds ?? Math.floor(Date.now() / 1000);
  const leeway = expected.leewaySeconds ?? 30;
  if (typeof claims.exp !== 'number') throw new JwtError('token has no expiry (exp)');
  if (claims.exp + leeway <= now) throw new JwtError('token expired');
  if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) throw new JwtError('token not valid yet (nbf)');
  if (expected.issuer !== undefined && claims.iss !== expected.issuer) throw new JwtError('token issuer not accepted');
  if (expected.audience !== undefined) {
    const aud = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
    if (!aud.includes(expected.audience)) throw new JwtError('token audience not accepted');
  }
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new JwtError('token has no subject (sub)');
}
