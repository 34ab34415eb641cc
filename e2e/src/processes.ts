import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  log: string;
}

/** Starts a process with its output appended to a log file the harness keeps (and greps for secrets). */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env: Record<string, string | undefined>; cwd: string; log: string },
): ManagedProcess {
  const out: WriteStream = createWriteStream(opts.log, { flags: 'a' });
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  child.once('exit', () => out.end());
  return { name, child, log: opts.log };
}

/** SIGKILL (what a crashed pod looks like) and wait for the exit. */
export async function kill9(p: ManagedProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
}

/** SIGTERM, then SIGKILL after a grace period. */
export async function stopProcess(p: ManagedProcess, graceMs = 10000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
