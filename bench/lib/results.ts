import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes a benchmark's figures to bench/results/<name>.json (the folder is created) and returns the path. */
export function writeResults(repoDir: string, name: string, data: unknown): string {
  const dir = join(repoDir, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
