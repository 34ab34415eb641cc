import { readFileSync } from 'node:fs';
import { ApiClient, parseFlags } from '../api-client';
import { CliError } from '../commands';
import type { CliCommand } from './command';
import { followRun, readInputs, type RunView } from './task.command';

interface WorkflowSummary {
  id: string;
  name: string;
  version: number;
  description: string;
  steps: { id: string; type: string; agent?: string; command?: string; dependsOn: string[] }[];
  inputs: { required?: string[]; properties?: Record<string, { description?: string; type?: string }> } | null;
}

const USAGE = [
  'workflow run <id|name> [--input k=v ...] [--input-file f.json] [--version N] [--detach]',
  '                      start a workflow run and follow its steps live to the outputs',
  'workflow list         the workflows and their latest versions',
  'workflow show <id|name>  its steps and inputs',
  'workflow register <file.yaml|file.json>  add a workflow, or a new version of one (admin, operator)',
];

export const command: CliCommand = {
  name: 'workflow',
  usage: USAGE,
  async run(args, env, out) {
    const [sub, ...rest] = args;
    const { positional, flags } = parseFlags(rest);
    const api = new ApiClient(env);
    switch (sub) {
      case 'run': {
        const [name] = positional;
        if (!name) throw new CliError('usage: hishamos workflow run <id|name> [--input k=v ...] [--input-file f.json]');
        const version = flags.get('version')?.at(-1);
        const run = await api.request<RunView>('POST', `/v1/workflows/${encodeURIComponent(name)}/runs`, {
          inputs: readInputs(flags),
          ...(version ? { version: Number(version) } : {}),
        });
        if (flags.has('detach')) {
          out.log(run.id);
          return 0;
        }
        return followRun(api, run.id, out);
      }
      case 'list': {
        const { workflows } = await api.request<{ workflows: WorkflowSummary[] }>('GET', '/v1/workflows');
        const width = Math.max(4, ...workflows.map((w) => w.id.length));
        out.log(`${'ID'.padEnd(width)}  VERSION  STEPS  NAME`);
        for (const w of workflows)
          out.log(
            `${w.id.padEnd(width)}  ${String(w.version).padEnd(7)}  ${String(w.steps.length).padEnd(5)}  ${w.name}`,
          );
        return 0;
      }
      case 'show': {
        const [name] = positional;
        if (!name) throw new CliError('usage: hishamos workflow show <id|name>');
        const w = await api.request<WorkflowSummary>('GET', `/v1/workflows/${encodeURIComponent(name)}`);
        out.log(`${w.name} (${w.id}, version ${w.version})`);
        out.log(w.description);
        out.log('');
        out.log('steps:');
        for (const s of w.steps) {
          const what = s.type === 'approval' ? 'approval' : `${s.agent}/${s.command}`;
          out.log(`  ${s.id}  ${what}${s.dependsOn.length ? `  after ${s.dependsOn.join(', ')}` : ''}`);
        }
        const required = new Set(w.inputs?.required ?? []);
        out.log('inputs:');
        for (const [k, p] of Object.entries(w.inputs?.properties ?? {}))
          out.log(`  ${k}${required.has(k) ? ' (required)' : ''}  ${p.description ?? p.type ?? ''}`);
        return 0;
      }
      case 'register': {
        const [file] = positional;
        if (!file) throw new CliError('usage: hishamos workflow register <file.yaml|file.json>');
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          throw new CliError(`cannot read ${file}`);
        }
        const w = await api.request<WorkflowSummary & { created: boolean }>('POST', '/v1/workflows', { yaml: text });
        out.log(
          w.created
            ? `registered ${w.id} version ${w.version}`
            : `${w.id} version ${w.version} is already the latest (unchanged)`,
        );
        return 0;
      }
      default:
        throw new CliError(`usage:\n  hishamos ${USAGE.filter((u) => u.startsWith('workflow')).join('\n  hishamos ')}`);
    }
  },
};
