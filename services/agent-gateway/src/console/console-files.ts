import { readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { REPO_ROOT } from '@hishamos/platform';

/** Where `npm run console:build` writes the admin console (vite build, base /console/). */
export const CONSOLE_DIST = join(REPO_ROOT, 'services', 'agent-gateway', 'console', 'dist');

export const CONSOLE_NOT_BUILT = 'console not built: run npm run console:build';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export type ConsoleFile =
  | { kind: 'file'; body: Buffer; contentType: string; cacheControl: string }
  | { kind: 'not-built' }
  | { kind: 'not-found' };

/**
 * The built console's files, read from disk on each request (the build can be redone while the
 * gateway runs). `/console/<path>`: the file if it exists inside the build; a missing path with a file
 * extension is 404; anything else is the single-page app's index.html (its hash router takes over).
 * Never reads outside the build directory.
 */
export class ConsoleFiles {
  constructor(private readonly root: string = CONSOLE_DIST) {}

  async get(urlPath: string): Promise<ConsoleFile> {
    const index = join(this.root, 'index.html');
    if (!(await isFile(index))) return { kind: 'not-built' };
    const relativePath = this.relativePath(urlPath);
    if (relativePath === undefined) return { kind: 'not-found' };
    if (relativePath !== '') {
      const full = resolve(this.root, relativePath);
      const inside = relative(this.root, full);
      if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return { kind: 'not-found' };
      if (await isFile(full)) return this.read(full, inside);
      if (extname(relativePath)) return { kind: 'not-found' };
    }
    return this.read(index, 'index.html');
  }

  /** The path below /console/ (decoded, no query), '' for the app itself; undefined when malformed. */
  private relativePath(urlPath: string): string | undefined {
    const path = urlPath.split(/[?#]/, 1)[0];
    const rest = path.replace(/^\/console(\/|$)/, '');
    let decoded: string;
    try {
      decoded = decodeURIComponent(rest);
    } catch {
      return undefined;
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
    const parts = decoded.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..' || p.startsWith('.'))) return undefined;
    return parts.join('/');
  }

  private async read(full: string, inside: string): Promise<ConsoleFile> {
    const body = await readFile(full);
    const contentType = CONTENT_TYPES[extname(full).toLowerCase()] ?? 'application/octet-stream';
    // Vite names assets by content hash: they never change. index.html must be revalidated.
    const cacheControl = inside.startsWith(`assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
    return { kind: 'file', body, contentType, cacheControl };
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
