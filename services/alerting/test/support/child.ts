import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..', '..', '..');

export interface Child {
  proc: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Runs the alerting service as its own OS process (services/alerting/src/main.ts, distributed mode)
 * and resolves once it logs "service started" with its URL.
 */
export function spawnAlerting(env: Record<string, string>, timeoutMs = 60000): Promise<Child> {
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', join(REPO, 'services/alerting/src/main.ts')], {
    cwd: REPO,
    env: {
      ...process.env,
      SWC_NODE_PROJECT: join(REPO, 'tsconfig.json'),
      NODE_OPTIONS: '',
      HISHAMOS_MODE: 'distributed',
      LOG_LEVEL: 'info',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const stop = () =>
    new Promise<void>((done) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return done();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 20000);
      proc.once('exit', () => {
        clearTimeout(kill);
        done();
      });
      proc.kill('SIGTERM');
    });
  return new Promise((resolveChild, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`alerting did not start in ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    const onData = () => {
      const line = out.split('\n').find((l) => l.includes('"msg":"service started"'));
      if (!line) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      resolveChild({ proc, url: (JSON.parse(line) as { url: string }).url, output: () => out, stop });
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`alerting exited with ${code}:\n${out.slice(-4000)}`));
    });
  });
}

/** A counter's value from a Prometheus text exposition (sum over the series matching `labels`). */
export function counter(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
