import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

const SOURCE_DIR = join(REPO_ROOT, 'deploy', 'test', 'deploycheck');
export const DEPLOYCHECK_BIN = join(REPO_ROOT, '.hishamos', 'tools', 'bin', 'deploycheck');

export interface CheckResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Builds deploy/test/deploycheck (Go: BuildKit's Dockerfile linter, compose-go, strict
 * Kubernetes decoding) into .hishamos/tools/bin. Go's build cache makes repeated builds cheap.
 * A missing Go toolchain fails the test with what to install.
 */
export function buildDeploycheck(): string {
  const r = spawnSync('go', ['build', '-trimpath', '-o', DEPLOYCHECK_BIN, '.'], {
    cwd: SOURCE_DIR,
    encoding: 'utf8',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (r.error) {
    throw new Error(
      `cannot run go (${r.error.message}): install Go 1.24+; it also builds helm (scripts/install-helm.sh)`,
    );
  }
  if (r.status !== 0) throw new Error(`go build of deploy/test/deploycheck failed:\n${r.stderr}`);
  return DEPLOYCHECK_BIN;
}

export function deploycheck(args: string[], input?: string): CheckResult {
  const r = spawnSync(DEPLOYCHECK_BIN, args, { encoding: 'utf8', input, cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
