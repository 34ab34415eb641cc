import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/paths';

/* The Dockerfile and .dockerignore, read instruction by instruction (no Docker engine here). */

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.trim().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push((current + line).trim());
    current = '';
  }
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const l of logical) {
    const [op, ...rest] = l.split(/\s+/);
    const ins = { op: op.toUpperCase(), args: rest.join(' ') };
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1], name: m[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      args.push(ins);
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { args, stages };
}

describe('Dockerfile', () => {
  const { args, stages } = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const stage = (name: string): Stage => {
    const s = stages.find((x) => x.name === name);
    if (!s) throw new Error(`no stage ${name}; stages: ${stages.map((x) => x.name).join(', ')}`);
    return s;
  };
  const runs = (s: Stage): string =>
    s.instructions
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');

  it('builds in stages deps -> build -> runtime from node:24-bookworm-slim', () => {
    expect(args).toEqual([{ op: 'ARG', args: 'NODE_IMAGE=node:24-bookworm-slim' }]);
    expect(stages.map((s) => s.name)).toEqual(['manifests', 'deps', 'build', 'prod-deps', 'runtime']);
    for (const s of stages) expect([s.name, s.from]).toEqual([s.name, s.name === 'build' ? 'deps' : '${NODE_IMAGE}']);
    expect(stages[stages.length - 1].name).toBe('runtime');
  });

  it('installs with npm ci, builds with npm run build, and ships production dependencies only', () => {
    expect(runs(stage('deps'))).toMatch(/npm ci\b(?!.*--omit=dev)/);
    expect(runs(stage('build'))).toContain('npm run build');
    expect(runs(stage('prod-deps'))).toContain('npm ci --omit=dev');
    const copies = stage('runtime')
      .instructions.filter((i) => i.op === 'COPY')
      .map((i) => i.args);
    expect(copies).toEqual(
      expect.arrayContaining([
        '--from=prod-deps /app/node_modules ./node_modules',
        '--from=build /app/dist ./dist',
        'seeds ./seeds',
        'migrations ./migrations',
        '--from=manifests /src/ ./',
      ]),
    );
    // node_modules with dev dependencies (deps stage) never reaches the runtime image.
    expect(copies.filter((c) => c.includes('--from=deps'))).toEqual([]);
    // The manifests stage keeps package.json files (root and workspaces) and the lockfile only.
    expect(runs(stage('manifests'))).toContain('! -name package.json ! -name package-lock.json');
  });

  it('builds the admin console and ships it where the gateway serves /console from', () => {
    expect(runs(stage('build'))).toContain('npm run console:build');
    expect(runs(stage('build'))).toContain('test -f services/agent-gateway/console/dist/index.html');
    const copies = stage('runtime')
      .instructions.filter((i) => i.op === 'COPY')
      .map((i) => i.args);
    // The gateway reads REPO_ROOT/services/agent-gateway/console/dist; REPO_ROOT is /app in the image (WORKDIR).
    expect(copies).toContain(
      '--from=build /app/services/agent-gateway/console/dist ./services/agent-gateway/console/dist',
    );
    const consoleFiles = readFileSync(join(REPO_ROOT, 'services/agent-gateway/src/console/console-files.ts'), 'utf8');
    expect(consoleFiles).toContain("join(REPO_ROOT, 'services', 'agent-gateway', 'console', 'dist')");
  });

  it('runs as uid 10001, picks the service with SERVICE, and has no HEALTHCHECK', () => {
    const rt = stage('runtime').instructions;
    expect(rt.filter((i) => i.op === 'USER').map((i) => i.args)).toEqual(['10001:10001']);
    expect(runs(stage('runtime'))).toContain('--uid 10001');
    expect(rt.find((i) => i.op === 'ARG')?.args).toBe('SERVICE=agent-gateway');
    expect(rt.find((i) => i.op === 'ENV')?.args).toContain('SERVICE=${SERVICE}');
    expect(stages.flatMap((s) => s.instructions).filter((i) => i.op === 'HEALTHCHECK')).toEqual([]);
    const cmd = JSON.parse(rt.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd[0]).toBe('sh');
    expect(cmd[2]).toMatch(/^exec node "dist\/services\/\$\{SERVICE:\?[^}]+\}\/src\/main\.js"$/);
    // USER comes after every instruction that needs root.
    const userIndex = rt.findIndex((i) => i.op === 'USER');
    expect(rt.slice(userIndex).filter((i) => i.op === 'RUN' || i.op === 'COPY')).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('keeps build outputs, local state, VCS data and test artifacts out of the build context', () => {
    expect(patterns).toEqual(
      expect.arrayContaining(['**/node_modules', '**/dist', '.hishamos', '.git', 'test-artifacts', 'coverage', '.nx']),
    );
  });

  it('keeps what the image needs in the context', () => {
    for (const needed of ['seeds', 'migrations', 'package.json', 'package-lock.json', 'libs', 'services']) {
      expect({
        needed,
        ignored: patterns.some((p) => p === needed || p === `${needed}/` || p === `/${needed}`),
      }).toEqual({ needed, ignored: false });
    }
  });
});
