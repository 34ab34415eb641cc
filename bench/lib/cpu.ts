import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

interface SystemTimes {
  busy: number;
  total: number;
}

function systemTimes(): SystemTimes | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined; // not Linux
  }
}

export interface CpuUsage {
  /** This Node process's CPU time over the wall time, in % of one core (100 = one core saturated). */
  processPct: number;
  /** The whole machine's busy time over the interval, in % of all cores (Linux /proc/stat; undefined elsewhere). */
  machinePct?: number;
  cores: number;
}

/** Starts measuring CPU use; call the returned function to read it. Cheap: two reads of /proc/stat. */
export function measureCpu(): () => CpuUsage {
  const wall0 = process.hrtime.bigint();
  const proc0 = process.cpuUsage();
  const sys0 = systemTimes();
  return () => {
    const wallUs = Number(process.hrtime.bigint() - wall0) / 1000;
    const proc = process.cpuUsage(proc0);
    const sys1 = systemTimes();
    const machinePct =
      sys0 && sys1 && sys1.total > sys0.total ? (100 * (sys1.busy - sys0.busy)) / (sys1.total - sys0.total) : undefined;
    return {
      processPct: wallUs > 0 ? (100 * (proc.user + proc.system)) / wallUs : 0,
      machinePct,
      cores: availableParallelism(),
    };
  };
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks =
        Number(
          execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
        ) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) used so far by every process whose command line matches, from /proc. */
function processesCpuSeconds(match: (comm: string, cmdline: string) => boolean): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!match(comm, cmdline)) continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process exited while we looked
    }
  }
  return ticks / ticksPerSecond();
}

export interface ComponentMatchers {
  [component: string]: (comm: string, cmdline: string) => boolean;
}

/** The local infrastructure's processes: the Postgres server (all its backends) and the Kafka broker JVM. */
export const INFRA_PROCESSES: ComponentMatchers = {
  postgres: (comm) => comm === 'postgres',
  kafka: (_comm, cmdline) => cmdline.includes('kafka.Kafka'),
};

/**
 * CPU seconds used by this Node process and by each component (Linux /proc; components are empty
 * elsewhere). A component counts every matching process on the machine (all of the cluster's backends,
 * including other clients'); processes that exit during the interval drop out, so use long-lived pools.
 */
export function measureComponentCpu(components: ComponentMatchers = INFRA_PROCESSES): () => Record<string, number> {
  const linux = existsSync('/proc/self/stat');
  const before = linux
    ? Object.fromEntries(Object.entries(components).map(([k, m]) => [k, processesCpuSeconds(m)]))
    : {};
  const self0 = process.cpuUsage();
  return () => {
    const self = process.cpuUsage(self0);
    const out: Record<string, number> = { node: (self.user + self.system) / 1e6 };
    if (linux)
      for (const [k, m] of Object.entries(components)) out[k] = Math.max(0, processesCpuSeconds(m) - before[k]); // < 0 only when a process exited meanwhile
    return out;
  };
}
