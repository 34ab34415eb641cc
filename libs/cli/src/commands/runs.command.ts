import { ApiClient, parseFlags } from '../api-client';
import { CliError } from '../commands';
import type { CliCommand } from './command';
import { followRun, progressLines, type RunView } from './task.command';

type RunSummary = Pick<RunView, 'id' | 'workflow' | 'status' | 'userId' | 'error' | 'createdAt' | 'durationSeconds'> & {
  kind: string;
};

function age(iso: string | null): string {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export const command: CliCommand = {
  name: 'runs',
  usage: [
    'runs [--status S] [--user U] [--workflow W] [--limit N] [--cursor C]   recent runs, newest first',
    'runs <run-id> [--follow]   one run: its steps (and live progress with --follow)',
  ],
  async run(args, env, out) {
    const { positional, flags } = parseFlags(args);
    const api = new ApiClient(env);
    const [id] = positional;
    if (id) {
      if (flags.has('follow')) return followRun(api, id, out);
      const run = await api.request<RunView>('GET', `/v1/runs/${encodeURIComponent(id)}`);
      for (const line of progressLines(run)) out.log(line);
      if (run.error) out.log(`error: ${run.error}`);
      return 0;
    }
    const query = new URLSearchParams();
    for (const [flag, param] of [
      ['status', 'status'],
      ['user', 'user'],
      ['workflow', 'workflow'],
      ['limit', 'limit'],
      ['cursor', 'cursor'],
    ]) {
      const v = flags.get(flag)?.at(-1);
      if (v) query.set(param, v);
    }
    for (const f of flags.keys())
      if (!['status', 'user', 'workflow', 'limit', 'cursor'].includes(f)) throw new CliError(`unknown flag --${f}`);
    const page = await api.request<{ runs: RunSummary[]; nextCursor: string | null }>(
      'GET',
      `/v1/runs${query.size ? `?${query}` : ''}`,
    );
    if (page.runs.length === 0) {
      out.log('no runs');
      return 0;
    }
    const nameWidth = Math.max(8, ...page.runs.map((r) => r.workflow.name.length));
    out.log(
      `${'RUN'.padEnd(36)}  ${'WORKFLOW'.padEnd(nameWidth)}  ${'STATUS'.padEnd(9)}  ${'USER'.padEnd(12)}  ${'CREATED'.padEnd(8)}  TOOK   ERROR`,
    );
    for (const r of page.runs) {
      out.log(
        `${r.id}  ${r.workflow.name.padEnd(nameWidth)}  ${r.status.padEnd(9)}  ${r.userId.padEnd(12)}  ${age(r.createdAt).padEnd(8)}  ` +
          `${r.durationSeconds === null ? '-' : `${r.durationSeconds}s`}`.padEnd(6) +
          ` ${r.error ? r.error.slice(0, 80) : ''}`,
      );
    }
    if (page.nextCursor) out.log(`more: hishamos runs --cursor ${page.nextCursor}`);
    return 0;
  },
};
