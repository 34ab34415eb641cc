import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './harness';

/** Runs the `hishamos` CLI (libs/cli/bin/hishamos, from source) against a gateway with an API key. */
export function hishamos(
  args: string[],
  env: { url: string; apiKey: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(REPO, 'libs', 'cli', 'bin', 'hishamos'),
      args,
      {
        cwd: REPO,
        timeout: 120000,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          HISHAMOS_URL: env.url,
          HISHAMOS_API_KEY: env.apiKey,
          // dist/ may be an older build: run the CLI from the sources under test.
          HISHAMOS_FROM_SOURCE: '1',
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
