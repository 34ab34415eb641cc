import { ApiClient, parseFlags, type CliOut } from '../api-client';
import { CliError } from '../commands';
import type { CliCommand } from './command';

/** approve/reject: POST /v1/runs/:run/steps/:step/<decision> with an optional comment. */
export async function decide(
  decision: 'approve' | 'reject',
  args: string[],
  env: Record<string, string | undefined>,
  out: CliOut,
): Promise<number> {
  const { positional, flags } = parseFlags(args);
  const [run, step] = positional;
  if (!run || !step) throw new CliError(`usage: hishamos ${decision} <run-id> <step> [--comment text]`);
  const comment = flags.get('comment')?.at(-1);
  const api = new ApiClient(env);
  const r = await api.request<{ runId: string; stepId: string; decision: string; runStatus: string }>(
    'POST',
    `/v1/runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}/${decision}`,
    comment ? { comment } : {},
  );
  out.log(`${r.decision} step ${r.stepId} of run ${r.runId}; the run is ${r.runStatus}`);
  return 0;
}

export const command: CliCommand = {
  name: 'approve',
  usage: ['approve <run-id> <step> [--comment text]   approve a step waiting for approval'],
  run: (args, env, out) => decide('approve', args, env, out),
};
