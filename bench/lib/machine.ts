import { execFileSync } from 'node:child_process';
import { cpus, availableParallelism, loadavg, totalmem, release, platform } from 'node:os';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the benchmark started (other work on the machine skews figures). */
  loadAverage1m: number;
  gitCommit?: string;
  gitDirty?: boolean;
}

/** What a figure was measured on: CPU, cores, memory, OS, Node and the repository's commit. */
export function machineInfo(repoDir: string): MachineInfo {
  const info: MachineInfo = {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    loadAverage1m: Math.round(loadavg()[0] * 100) / 100,
  };
  try {
    info.gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: repoDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    info.gitDirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        cwd: repoDir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim().length > 0;
  } catch {
    // not a git checkout: the commit is simply not recorded
  }
  return info;
}
