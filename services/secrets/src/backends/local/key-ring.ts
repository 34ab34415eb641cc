import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/** The id of a lone key given without one (`ENCRYPTION_KEY=<base64>`). */
export const DEFAULT_KEY_ID = 'default';

export class KeyRingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRingError';
  }
}

export interface Sealed {
  keyId: string;
  nonce: Buffer;
  /** Ciphertext with the 16-byte GCM tag appended. */
  ciphertext: Buffer;
}

/** Thrown when a ciphertext does not authenticate under its key and associated data. */
export class OpenFailedError extends Error {
  constructor(readonly keyId: string) {
    super(`ciphertext did not authenticate under key ${keyId}`);
    this.name = 'OpenFailedError';
  }
}

function decodeKey(text: string, where: string): Buffer {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t))
    throw new KeyRingError(`${where} is not base64 (generate a key with: openssl rand -base64 32)`);
  const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES)
    throw new KeyRingError(
      `${where} must be ${KEY_BYTES} bytes of base64, got ${key.length} bytes (generate one with: openssl rand -base64 32)`,
    );
  return key;
}

/**
 * The local store's master keys (AES-256-GCM), by id. The first key is active: it encrypts every new
 * value. The others only decrypt, until re-encryption has moved every value to the active key.
 * Error messages name key ids and positions, never key material.
 */
export class KeyRing {
  private constructor(
    private readonly keys: Map<string, Buffer>,
    readonly activeKeyId: string,
  ) {}

  /** `k2:<base64>,k1:<base64>` (first = active) or a single base64 key (id `default`). */
  static parse(spec: string): KeyRing {
    const entries = spec
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e.length > 0);
    if (entries.length === 0) throw new KeyRingError('ENCRYPTION_KEY is empty');
    const keys = new Map<string, Buffer>();
    entries.forEach((entry, i) => {
      const colon = entry.indexOf(':');
      let id: string;
      let material: string;
      if (colon < 0) {
        if (entries.length > 1)
          throw new KeyRingError(`ENCRYPTION_KEY entry ${i + 1}: a key ring needs ids, as "<id>:<base64 key>"`);
        id = DEFAULT_KEY_ID;
        material = entry;
      } else {
        id = entry.slice(0, colon).trim();
        material = entry.slice(colon + 1);
        if (!KEY_ID_PATTERN.test(id))
          throw new KeyRingError(`ENCRYPTION_KEY entry ${i + 1}: key id must match ${KEY_ID_PATTERN.source}`);
      }
      if (keys.has(id)) throw new KeyRingError(`ENCRYPTION_KEY: key id ${id} appears twice`);
      const key = decodeKey(material, `ENCRYPTION_KEY key ${id}`);
      for (const [other, k] of keys)
        if (k.equals(key)) throw new KeyRingError(`ENCRYPTION_KEY: keys ${other} and ${id} are the same key`);
      keys.set(id, key);
    });
    return new KeyRing(keys, keys.keys().next().value as string);
  }

  /** A new random ring of one key, as an ENCRYPTION_KEY value. */
  static generateSpec(id = 'k1'): string {
    return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Encrypts under the active key with a fresh random 96-bit nonce, binding `aad`. */
  seal(plaintext: Buffer, aad: Buffer): Sealed {
    const keyId = this.activeKeyId;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyId)!, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { keyId, nonce, ciphertext };
  }

  /** Decrypts; throws OpenFailedError when the ciphertext, nonce, key or `aad` is not the one sealed. */
  open(sealed: Sealed, aad: Buffer): Buffer {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new KeyRingError(`key ${sealed.keyId} is not in ENCRYPTION_KEY`);
    if (sealed.nonce.length !== NONCE_BYTES || sealed.ciphertext.length < TAG_BYTES)
      throw new OpenFailedError(sealed.keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new OpenFailedError(sealed.keyId);
    }
  }
}

/** The associated data binding a value to its path and version: moving it elsewhere breaks it. */
export function valueAad(path: string, version: number): Buffer {
  return Buffer.from(`hishamos/secrets/value/v1\u0000${path}\u0000${version}`, 'utf8');
}

export function canaryAad(keyId: string): Buffer {
  return Buffer.from(`hishamos/secrets/canary/v1\u0000${keyId}`, 'utf8');
}

export const CANARY_PLAINTEXT = Buffer.from('hishamos secrets key-ring canary', 'utf8');
