import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KeyRing, KeyRingError } from './key-ring';

export const EMBEDDED_KEY_FILE = 'secrets.key';

export interface EmbeddedKey {
  spec: string;
  file: string;
  generated: boolean;
}

/**
 * Embedded mode without ENCRYPTION_KEY: the key ring lives in `<data dir>/secrets.key`, created on
 * first start with a fresh random key and mode 0600. A file others can read is refused (like ssh).
 */
export function loadOrCreateEmbeddedKey(dataDir: string): EmbeddedKey {
  const file = resolve(dataDir, EMBEDDED_KEY_FILE);
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077)
      throw new KeyRingError(
        `${file} is readable by other users (mode ${mode.toString(8)}): run chmod 600 ${file}, then start again`,
      );
    const spec = readFileSync(file, 'utf8').trim();
    KeyRing.parse(spec);
    return { spec, file, generated: false };
  }
  mkdirSync(dirname(file), { recursive: true });
  const spec = KeyRing.generateSpec('k1');
  try {
    writeFileSync(file, `${spec}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateEmbeddedKey(dataDir);
    throw e;
  }
  chmodSync(file, 0o600); // in case the umask widened it
  return { spec, file, generated: true };
}
