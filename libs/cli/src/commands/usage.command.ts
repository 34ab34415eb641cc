import { ApiClient, parseFlags, type CliOut } from '../api-client';
import { CliError } from '../commands';
import type { CliCommand } from './command';

const DIMENSIONS = ['user', 'team', 'agent', 'provider', 'model', 'command', 'day'];

interface UsageRow {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: string;
  unpricedRequests: number;
  [dimension: string]: string | number;
}

interface UsageAnswer {
  timeZone: string;
  from: string;
  to: string;
  groupBy: string[];
  rows: UsageRow[];
  totals: UsageRow;
  truncated: boolean;
}

const int = (n: number) => n.toLocaleString('en-US');

/** Left-aligned text columns, right-aligned numbers, two spaces apart. */
export function table(head: string[], rows: string[][], numeric: boolean[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

function one(flags: Map<string, string[]>, name: string): string | undefined {
  const v = flags.get(name);
  if (!v) return undefined;
  if (v.length > 1) throw new CliError(`--${name} given more than once`);
  if (v[0] === 'true') throw new CliError(`--${name} needs a value`);
  return v[0];
}

/** `hishamos usage`: cost and tokens over a range, grouped by user, agent, model, command or day. */
export const command: CliCommand = {
  name: 'usage',
  usage: [
    'usage [--user U] [--agent A] [--model M] [--since DATE] [--until DATE] [--by user,agent,model,command,day] [--json]',
    '                      cost and tokens (days in the budget time zone; default: the last 30 days)',
  ],
  async run(args: string[], env: Record<string, string | undefined>, out: CliOut): Promise<number> {
    const { positional, flags } = parseFlags(args);
    if (positional.length)
      throw new CliError(`unexpected argument '${positional[0]}'; usage: hishamos ${this.usage[0]}`);
    for (const name of flags.keys())
      if (!['user', 'agent', 'model', 'since', 'until', 'by', 'json', 'limit'].includes(name))
        throw new CliError(`unknown option --${name}; usage: hishamos ${this.usage[0]}`);
    const user = one(flags, 'user');
    const agent = one(flags, 'agent');
    const model = one(flags, 'model');
    const since = one(flags, 'since');
    const until = one(flags, 'until');
    for (const [name, value] of [
      ['since', since],
      ['until', until],
    ] as const)
      if (value !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(value))
        throw new CliError(`--${name} takes a date written YYYY-MM-DD, got '${value}'`);
    let by = one(flags, 'by')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (by) {
      const unknown = by.find((d) => !DIMENSIONS.includes(d));
      if (unknown) throw new CliError(`--by: unknown grouping '${unknown}'; one or more of ${DIMENSIONS.join(', ')}`);
    } else {
      // Group by what the filters leave open: per user and agent, per agent for one user, per day for both.
      by = ['user', 'agent'].filter((d) => (d === 'user' ? !user : !agent));
      if (by.length === 0) by = ['day'];
    }
    const query = new URLSearchParams({ groupBy: by.join(',') });
    if (user) query.set('userId', user);
    if (agent) query.set('agent', agent);
    if (model) query.set('model', model);
    if (since) query.set('from', since);
    if (until) query.set('to', until);
    const limit = one(flags, 'limit');
    if (limit) query.set('limit', limit);
    const answer = await new ApiClient(env).request<UsageAnswer>('GET', `/v1/usage?${query}`);
    if (flags.has('json')) {
      out.log(JSON.stringify(answer, null, 2));
      return 0;
    }
    const filters = [user && `user ${user}`, agent && `agent ${agent}`, model && `model ${model}`].filter(Boolean);
    out.log(
      `Usage ${answer.from} .. ${answer.to} (${answer.timeZone})${filters.length ? `, ${filters.join(', ')}` : ''}, by ${answer.groupBy.join(', ')}`,
    );
    const head = [...answer.groupBy.map((d) => d.toUpperCase()), 'REQUESTS', 'INPUT', 'OUTPUT', 'CACHED', 'COST USD'];
    const numeric = [...answer.groupBy.map(() => false), true, true, true, true, true];
    const cells = (r: UsageRow, keys: string[]) => [
      ...keys,
      int(r.requests),
      int(r.inputTokens),
      int(r.outputTokens),
      int(r.cachedInputTokens),
      r.unpricedRequests ? `${r.costUsd} (+${r.unpricedRequests} unpriced)` : r.costUsd,
    ];
    const rows = answer.rows.map((r) =>
      cells(
        r,
        answer.groupBy.map((d) => String(r[d] ?? '') || '-'),
      ),
    );
    if (rows.length === 0) {
      out.log('No usage in this range.');
      return 0;
    }
    rows.push(
      cells(
        answer.totals,
        answer.groupBy.map((_, i) => (i === 0 ? 'TOTAL' : '')),
      ),
    );
    for (const line of table(head, rows, numeric)) out.log(line);
    if (answer.truncated) out.log(`(first ${answer.rows.length} groups; narrow the range or raise --limit)`);
    return 0;
  },
};
