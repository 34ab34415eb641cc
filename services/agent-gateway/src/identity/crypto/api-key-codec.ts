import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { safeEqual } from '@hishamos/platform';
import { API_KEY_PATTERN } from '../../config/identity.settings';

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 43 base62 characters: 256 bits of entropy. */
const SECRET_LENGTH = 43;

export interface ParsedApiKey {
  prefix: string;
  key: string;
}

/** `Bearer hos_...` tokens are API keys; anything else is tried as a JWT. */
export function isApiKeyShaped(token: string): boolean {
  return token.startsWith('hos_');
}

/** The key's parts, or undefined when it does not have the `hos_<prefix>_<secret>` format. */
export function parseApiKey(token: string): ParsedApiKey | undefined {
  if (!API_KEY_PATTERN.test(token)) return undefined;
  return { prefix: token.slice(4, 12), key: token };
}

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A new key `hos_<prefix>_<secret>` (the secret from the OS CSPRNG, 256 bits). */
export function generateApiKey(): ParsedApiKey {
  const prefix = randomString(PREFIX_ALPHABET, 8);
  return { prefix, key: `hos_${prefix}_${randomString(SECRET_ALPHABET, SECRET_LENGTH)}` };
}

/** A random value for generated peppers and signing keys. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * API keys are stored as HMAC-SHA256(pepper, key). The keys carry 256 random bits, so a fast keyed
 * hash is as safe as a slow password hash here (nothing to brute-force) and keeps authentication in
 * microseconds; the pepper (kept outside the row) means a leaked table alone cannot even confirm a key.
 */
export class ApiKeyHasher {
  static readonly SCHEME = 'hmac-sha256-v1';

  constructor(private readonly pepper: string) {}

  hash(key: string): Buffer {
    return createHmac('sha256', this.pepper).update(key).digest();
  }

  matches(key: string, stored: Buffer): boolean {
    return safeEqual(this.hash(key), stored);
  }
}
