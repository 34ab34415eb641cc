import { readFileSync } from 'node:fs';
import { ApiClient, parseFlags, type CliOut } from '../api-client';
import { CliError } from '../commands';
import type { CliCommand } from './command';

/** A run as GET /v1/runs/:id returns it (the fields the CLI shows). */
export interface RunView {
  id: string;
  kind: 'task' | 'workflow';
  workflow: { id: string; name: string; version: number };
  status: string;
  userId: string;
  error: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
  outputs: Record<string, unknown> | null;
  usage?: { inputTokens: number; outputTokens: number };
  /** Filled in by other services when known (usage-metering, feedback-ml). */
  costUsd?: string | number | null;
  quality?: number | { total?: number } | null;
  steps: {
    id: string;
    kind: 'agent' | 'approval';
    agent: string | null;
    command: string | null;
    status: string;
    attempt: number;
    maxAttempts: number;
    startedAt: string | null;
    finishedAt: string | null;
    error: { code: string; message: string } | null;
    detail: string | null;
    costUsd?: string | number | null;
    quality?: number | { total?: number } | null;
    approval?: { prompt: string | null; approvers: string[] };
  }[];
}

interface RunEvent {
  kind: string;
  stepId: string | null;
  attempt: number | null;
  detail: string | null;
  error?: string;
  at: string | null;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const STEP_STATUS: Record<string, string> = {
  step_started: 'running',
  step_succeeded: 'succeeded',
  step_failed: 'failed',
  step_retrying: 'retrying',
  step_waiting_approval: 'waiting_approval',
  step_skipped: 'skipped',
};
const RUN_STATUS: Record<string, string> = {
  queued: 'queued',
  started: 'running',
  completed: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};
const ICON: Record<string, string> = {
  pending: '·',
  queued: '·',
  running: '▶',
  retrying: '↻',
  waiting_approval: '⏸',
  succeeded: '✓',
  failed: '✗',
  skipped: '–',
  cancelled: '⊘',
};

/** `--input k=v` (repeatable, text) over `--input-file f.json` (a JSON object, typed values). */
export function readInputs(flags: Map<string, string[]>): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const file of flags.get('input-file') ?? []) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CliError(
        `--input-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new CliError(`--input-file ${file}: must hold a JSON object of inputs`);
    Object.assign(inputs, parsed);
  }
  for (const pair of flags.get('input') ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--input ${pair}: write it as name=value`);
    inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return inputs;
}

function flag(flags: Map<string, string[]>, name: string): string | undefined {
  const v = flags.get(name);
  return v?.[v.length - 1];
}

function elapsed(from: string | null, to?: string | null): string {
  if (!from) return '';
  const s = Math.max(0, ((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000);
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

function qualityText(q: RunView['quality']): string | undefined {
  if (q === undefined || q === null) return undefined;
  const total = typeof q === 'number' ? q : q.total;
  return total === undefined ? undefined : `${Number(total).toFixed(1)}/10`;
}

/** The run's step list with a progress bar, as lines to draw in place. */
export function progressLines(run: RunView): string[] {
  const done = run.steps.filter((s) => ['succeeded', 'failed', 'skipped', 'cancelled'].includes(s.status)).length;
  const width = 20;
  const filled = run.steps.length ? Math.round((done / run.steps.length) * width) : width;
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const lines = [
    `${run.workflow.name} (${run.id})  ${run.status}  ${bar} ${done}/${run.steps.length} steps  ${elapsed(run.startedAt ?? run.createdAt, run.finishedAt)}`,
  ];
  const nameWidth = Math.max(...run.steps.map((s) => s.id.length), 4);
  for (const s of run.steps) {
    const what = s.kind === 'approval' ? 'approval' : `${s.agent}/${s.command}`;
    const attempt = s.attempt > 1 || s.status === 'retrying' ? ` attempt ${s.attempt}/${s.maxAttempts}` : '';
    const note =
      s.status === 'waiting_approval'
        ? `  — hishamos approve ${run.id} ${s.id}`
        : s.status === 'failed' && s.error
          ? `  — ${s.error.code}: ${s.error.message}`
          : s.status === 'retrying' && s.detail
            ? `  — ${s.detail}`
            : '';
    const time = s.startedAt ? `  ${elapsed(s.startedAt, s.finishedAt)}` : '';
    lines.push(`  ${ICON[s.status] ?? '?'} ${s.id.padEnd(nameWidth)}  ${what}  ${s.status}${attempt}${time}${note}`);
  }
  return lines;
}

/** Applies one run event to the local view (so progress redraws without a request per event). */
function apply(run: RunView, e: RunEvent): void {
  if (e.stepId && STEP_STATUS[e.kind]) {
    const step = run.steps.find((s) => s.id === e.stepId);
    if (!step) return;
    step.status = STEP_STATUS[e.kind];
    if (e.attempt) step.attempt = e.attempt;
    if (e.kind === 'step_started') {
      step.startedAt = e.at;
      step.finishedAt = null;
    }
    if (['succeeded', 'failed', 'skipped'].includes(step.status)) step.finishedAt = e.at;
    if (e.kind === 'step_retrying') step.detail = e.detail;
    if (e.kind === 'step_failed' && e.error) {
      const i = e.error.indexOf(': ');
      step.error = { code: i > 0 ? e.error.slice(0, i) : 'failed', message: i > 0 ? e.error.slice(i + 2) : e.error };
    }
  } else if (RUN_STATUS[e.kind]) {
    run.status = RUN_STATUS[e.kind];
    if (e.kind === 'started') run.startedAt = e.at;
    if (TERMINAL.has(run.status)) run.finishedAt = e.at;
  }
}

/**
 * Follows a run until it ends: its events over SSE drive a step list redrawn in place (`out.live`), then the
 * final run is fetched and printed (outputs, tokens, cost and quality when the platform knows them).
 * Returns the exit code: 0 when the run succeeded.
 */
export async function followRun(api: ApiClient, runId: string, out: CliOut): Promise<number> {
  const run = await api.request<RunView>('GET', `/v1/runs/${runId}`);
  const draw = () => (out.live ? out.live(progressLines(run)) : undefined);
  draw();
  if (!TERMINAL.has(run.status)) {
    let ticker: NodeJS.Timeout | undefined;
    if (out.live) ticker = setInterval(draw, 1000);
    let lastSeq = '0';
    try {
      // The stream ends with `end` once the run has finished; when it breaks first (a restart, a proxy), resume
      // after the last event seen, falling back to polling while the platform cannot be reached.
      for (let ended = false; !ended;) {
        try {
          await api.stream(`/v1/runs/${runId}/events?after=${lastSeq}`, (event, data) => {
            if (event === 'end') return (ended = true);
            const e = data as RunEvent & { seq?: string };
            if (e.seq) lastSeq = e.seq;
            apply(run, e);
            draw();
            return false;
          });
        } catch (e) {
          if (!(e instanceof CliError)) throw e;
        }
        if (ended) break;
        await new Promise((r) => setTimeout(r, 1000));
        const now = await api.request<RunView>('GET', `/v1/runs/${runId}`).catch(() => undefined);
        if (now) {
          Object.assign(run, now);
          draw();
          if (TERMINAL.has(now.status)) break;
        }
      }
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }
  const final = await api.request<RunView>('GET', `/v1/runs/${runId}`);
  if (out.live) out.live(progressLines(final));
  else for (const line of progressLines(final)) out.log(line);
  printResult(final, out);
  return final.status === 'succeeded' ? 0 : 1;
}

function printResult(run: RunView, out: CliOut): void {
  out.log('');
  if (run.status === 'succeeded') {
    const outputs = run.outputs ?? {};
    if (run.kind === 'task') out.log(String(outputs.output ?? ''));
    else
      for (const [name, value] of Object.entries(outputs)) {
        out.log(`── ${name} ${'─'.repeat(Math.max(3, 60 - name.length))}`);
        out.log(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
        out.log('');
      }
  } else {
    out.log(`run ${run.status}: ${run.error ?? 'no reason given'}`);
  }
  const facts: string[] = [];
  if (run.usage) facts.push(`tokens in ${run.usage.inputTokens}, out ${run.usage.outputTokens}`);
  if (run.costUsd !== undefined && run.costUsd !== null) facts.push(`cost $${run.costUsd}`);
  const quality = qualityText(run.quality) ?? run.steps.map((s) => qualityText(s.quality)).find((q) => q !== undefined);
  if (quality) facts.push(`quality ${quality}`);
  if (run.durationSeconds !== null) facts.push(`${run.durationSeconds}s`);
  if (facts.length > 0) out.log(facts.join(' · '));
}

export const command: CliCommand = {
  name: 'task',
  usage: [
    'task <agent> <command> [--input k=v ...] [--input-file f.json] [--priority low|normal|high] [--detach]',
    '                      run one command of one agent and follow it to the end',
  ],
  async run(args, env, out) {
    const { positional, flags } = parseFlags(args);
    const [agent, name] = positional;
    if (!agent || !name)
      throw new CliError('usage: hishamos task <agent> <command> [--input k=v ...] [--input-file f.json]');
    const api = new ApiClient(env);
    const run = await api.request<RunView>('POST', '/v1/tasks', {
      agent,
      command: name,
      inputs: readInputs(flags),
      ...(flag(flags, 'priority') ? { priority: flag(flags, 'priority') } : {}),
    });
    if (flags.has('detach')) {
      out.log(run.id);
      return 0;
    }
    return followRun(api, run.id, out);
  },
};
