#!/usr/bin/env node
// Compiles libs/ and services/ with swc into dist/, then rewrites the workspace imports
// (@hishamos/<name>, which point at TypeScript sources in development) to relative paths inside
// dist/, so the image runs `node dist/services/<name>/src/main.js` with no TypeScript at all.
//   node scripts/build.mjs                 every project (what the Dockerfile runs; dist/ starts empty)
//   node scripts/build.mjs --project DIR   one project (DIR = its folder, e.g. libs/messaging or `.` from
//                                          inside it): each project's Nx `build` target; Nx builds its
//                                          workspace dependencies first (targetDefaults.build.dependsOn)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const projectArg = process.argv.indexOf('--project');
const project = projectArg > 0 ? relative(root, resolve(process.argv[projectArg + 1] ?? '.')) : undefined;
if (project !== undefined && !/^(libs|services)\/[a-z0-9-]+$/.test(project)) {
  process.stderr.write(`build: --project must be a folder under libs/ or services/, not "${project || '.'}"\n`);
  process.exit(2);
}
const sources = project ? [project] : ['libs', 'services'];
const out = project ? join(dist, project) : dist;
rmSync(out, { recursive: true, force: true });
const swc = join(root, 'node_modules', '.bin', 'swc');
execFileSync(
  swc,
  [
    ...sources,
    '-d',
    'dist',
    '--config-file',
    '.swcrc',
    '--ignore',
    '**/*.spec.ts,**/*.int-spec.ts,**/test/**,**/agent-gateway/console/**',
    '--copy-files',
    '--quiet',
  ],
  { cwd: root, stdio: 'inherit' },
);

// @hishamos/<name> -> dist/(libs|services)/<name>/src/index.js
const targets = new Map();
for (const group of ['libs', 'services']) {
  for (const name of readdirSync(join(root, group))) {
    const pkg = join(root, group, name, 'package.json');
    if (!existsSync(pkg)) continue;
    const { name: pkgName } = JSON.parse(readFileSync(pkg, 'utf8'));
    targets.set(pkgName, join(dist, group, name, 'src', 'index.js'));
  }
}

let rewritten = 0;
const walk = (dir) => {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.js')) {
      const src = readFileSync(p, 'utf8');
      const out = src.replace(/require\((["'])(@hishamos\/[a-z0-9-]+)\1\)/g, (m, q, spec) => {
        const target = targets.get(spec);
        if (!target) return m;
        let rel = relative(dirname(p), target).split('\\').join('/');
        if (!rel.startsWith('.')) rel = `./${rel}`;
        rewritten++;
        return `require(${q}${rel}${q})`;
      });
      if (out !== src) writeFileSync(p, out);
    }
  }
};
walk(out);
if (project) {
  const name = JSON.parse(readFileSync(join(root, project, 'package.json'), 'utf8')).name;
  if (!existsSync(targets.get(name))) throw new Error(`build: ${name} has no ${targets.get(name)}`);
} else {
  for (const [name, target] of targets) if (!existsSync(target)) throw new Error(`build: ${name} has no ${target}`);
}
process.stdout.write(`build: ${relative(root, out) || 'dist'}/ ready (${rewritten} workspace imports made relative)\n`);
