import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleFiles, type ConsoleFile } from './console-files';

function text(file: ConsoleFile): string {
  if (file.kind !== 'file') throw new Error(`expected a file, got ${file.kind}`);
  return file.body.toString('utf8');
}

describe('ConsoleFiles', () => {
  let root: string;
  let outside: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'console-dist-'));
    outside = mkdtempSync(join(tmpdir(), 'console-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const build = () => {
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<html>app</html>');
    writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(root, 'favicon.svg'), '<svg/>');
    writeFileSync(join(root, '.env'), 'HIDDEN=1');
  };

  it('says the console is not built while index.html is missing', async () => {
    await expect(new ConsoleFiles(root).get('/console')).resolves.toEqual({ kind: 'not-built' });
    await expect(new ConsoleFiles(join(root, 'nope')).get('/console/assets/x.js')).resolves.toEqual({
      kind: 'not-built',
    });
  });

  it('serves index.html for the app and its client-side routes, no-cache', async () => {
    build();
    const files = new ConsoleFiles(root);
    for (const url of ['/console', '/console/', '/console/runs/123', '/console/?x=1', '/console#/runs']) {
      const file = await files.get(url);
      expect(text(file)).toBe('<html>app</html>');
      expect(file).toMatchObject({ contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache' });
    }
  });

  it('serves assets with their content type; hashed assets are cached for good', async () => {
    build();
    const files = new ConsoleFiles(root);
    const js = await files.get('/console/assets/index-abc123.js?v=1');
    expect(text(js)).toBe('console.log(1)');
    expect(js).toMatchObject({
      contentType: 'text/javascript; charset=utf-8',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    expect(await files.get('/console/favicon.svg')).toMatchObject({
      contentType: 'image/svg+xml',
      cacheControl: 'no-cache',
    });
  });

  it('answers 404 for a missing file with an extension instead of the app', async () => {
    build();
    await expect(new ConsoleFiles(root).get('/console/assets/missing.js')).resolves.toEqual({ kind: 'not-found' });
  });

  it('never reads outside the build nor dot-files', async () => {
    build();
    const files = new ConsoleFiles(root);
    const rel = join('..', outside.split('/').pop()!, 'secret.txt');
    for (const url of [
      `/console/${rel}`,
      `/console/${encodeURIComponent(rel)}`,
      '/console/%2e%2e/%2e%2e/etc/passwd',
      '/console/..%2f..%2fetc%2fpasswd',
      '/console/assets/..%5c..%5csecret.txt',
      '/console/.env',
      '/console/assets/%00.js',
      '/console/%E0%A4%A',
    ])
      await expect(files.get(url)).resolves.toEqual({ kind: 'not-found' });
  });
});
