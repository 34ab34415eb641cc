import { ApiClient, parseFlags, type CliOut } from '../api-client';
import { CliError } from '../commands';
import type { CliCommand } from './command';
import { table } from './usage.command';

interface BudgetView {
  budgetId: string;
  scope: string;
  scopeId: string;
  period: string;
  periodStart: string;
  softUsd: string | null;
  hardUsd: string | null;
  source: string;
  spentUsd: string;
  reservedUsd: string;
  remainingUsd: string | null;
}

const USAGE = [
  'budget set <user ID|team ID|global> --period day|week|month [--soft USD] [--hard USD]',
  'budget list [user ID|team ID|global]',
  'budget delete <user ID|team ID|global> --period day|week|month',
];
const PERIODS = ['day', 'week', 'month'];
const AMOUNT = /^\d{1,12}(\.\d{1,6})?$/;

/** `user ID`, `team ID` or `global` from the positional arguments. */
function target(words: string[], verb: string): { scope: string; scopeId: string } {
  const [scope, id, ...rest] = words;
  if (scope === 'global' && id === undefined) return { scope, scopeId: '' };
  if ((scope === 'user' || scope === 'team') && id && rest.length === 0) return { scope, scopeId: id };
  throw new CliError(`budget ${verb}: say whose budget: 'user <ID>', 'team <ID>' or 'global'`);
}

function flag(flags: Map<string, string[]>, name: string): string | undefined {
  const v = flags.get(name);
  if (!v) return undefined;
  if (v.length > 1 || v[0] === 'true') throw new CliError(`--${name} needs one value`);
  return v[0];
}

function period(flags: Map<string, string[]>, verb: string): string {
  const p = flag(flags, 'period');
  if (!p || !PERIODS.includes(p)) throw new CliError(`budget ${verb}: --period must be day, week or month`);
  return p;
}

const who = (b: { scope: string; scopeId: string }) => (b.scope === 'global' ? 'global' : `${b.scope} ${b.scopeId}`);
const money = (v: string | null) => (v === null ? '-' : `$${v}`);

/** `hishamos budget`: set, list and delete soft and hard spending limits. */
export const command: CliCommand = {
  name: 'budget',
  usage: USAGE,
  async run(args: string[], env: Record<string, string | undefined>, out: CliOut): Promise<number> {
    const [verb, ...rest] = args;
    const { positional, flags } = parseFlags(rest);
    const api = new ApiClient(env);
    switch (verb) {
      case 'set': {
        const t = target(positional, 'set');
        const p = period(flags, 'set');
        const soft = flag(flags, 'soft');
        const hard = flag(flags, 'hard');
        if (soft === undefined && hard === undefined)
          throw new CliError('budget set: give --soft USD, --hard USD or both');
        for (const [name, v] of [
          ['soft', soft],
          ['hard', hard],
        ] as const)
          if (v !== undefined && !AMOUNT.test(v.replace(/^\$/, '')))
            throw new CliError(`budget set: --${name} takes an amount in USD such as 50 or 12.50, got '${v}'`);
        const b = await api.request<BudgetView>('PUT', '/v1/budgets', {
          scope: t.scope,
          scopeId: t.scopeId,
          period: p,
          ...(soft !== undefined ? { softUsd: soft.replace(/^\$/, '') } : {}),
          ...(hard !== undefined ? { hardUsd: hard.replace(/^\$/, '') } : {}),
        });
        out.log(
          `Budget set: ${who(b)}, per ${b.period}: soft ${money(b.softUsd)}, hard ${money(b.hardUsd)} (spent ${money(b.spentUsd)} since ${b.periodStart})`,
        );
        return 0;
      }
      case 'list': {
        const query = new URLSearchParams();
        if (positional.length) {
          const t = target(positional, 'list');
          query.set('scope', t.scope);
          if (t.scopeId) query.set('scopeId', t.scopeId);
        }
        const answer = await api.request<{ timeZone: string; budgets: BudgetView[] }>(
          'GET',
          `/v1/budgets${query.size ? `?${query}` : ''}`,
        );
        if (answer.budgets.length === 0) {
          out.log('No budgets.');
          return 0;
        }
        const rows = answer.budgets.map((b) => [
          b.scope,
          b.scopeId || '-',
          b.period,
          b.periodStart,
          money(b.softUsd),
          money(b.hardUsd),
          money(b.spentUsd),
          money(b.reservedUsd),
          money(b.remainingUsd),
          b.source,
        ]);
        const head = ['SCOPE', 'ID', 'PERIOD', 'SINCE', 'SOFT', 'HARD', 'SPENT', 'RESERVED', 'LEFT', 'SOURCE'];
        for (const line of table(head, rows, [false, false, false, false, true, true, true, true, true, false]))
          out.log(line);
        out.log(`(periods start at midnight ${answer.timeZone})`);
        return 0;
      }
      case 'delete': {
        const t = target(positional, 'delete');
        const p = period(flags, 'delete');
        const query = new URLSearchParams({ scope: t.scope, period: p });
        if (t.scopeId) query.set('scopeId', t.scopeId);
        const r = await api.request<{ replacedBy: { soft_usd: string | null; hard_usd: string | null } | null }>(
          'DELETE',
          `/v1/budgets?${query}`,
        );
        out.log(`Budget deleted: ${who(t)}, per ${p}${r.replacedBy ? ' (the plan default applies again)' : ''}`);
        return 0;
      }
      default:
        throw new CliError(`usage:\n  hishamos ${USAGE.join('\n  hishamos ')}`);
    }
  },
};
