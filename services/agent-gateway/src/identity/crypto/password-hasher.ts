import { randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { safeEqual } from '@hishamos/platform';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 64;

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Console passwords: scrypt (N=16384, r=8, p=1, 16-byte salt), stored as `scrypt$N$r$p$salt$hash`. */
export class PasswordHasher {
  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await scryptAsync(password, salt, KEY_LENGTH, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
    return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
  }

  /** Constant-time check; an absent or unreadable hash costs the same time and fails. */
  async verify(password: string, stored: string | null | undefined): Promise<boolean> {
    const parts = (stored ?? '').split('$');
    const valid = parts.length === 6 && parts[0] === 'scrypt';
    const n = valid ? Number(parts[1]) : N;
    const r = valid ? Number(parts[2]) : R;
    const p = valid ? Number(parts[3]) : P;
    const salt = valid ? Buffer.from(parts[4], 'base64') : randomBytes(16);
    const expected = valid ? Buffer.from(parts[5], 'base64') : randomBytes(KEY_LENGTH);
    if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20) return false;
    const key = await scryptAsync(password, salt, expected.length || KEY_LENGTH, {
      N: n,
      r,
      p,
      maxmem: 256 * 1024 * 1024,
    });
    return valid && safeEqual(key, expected);
  }
}
