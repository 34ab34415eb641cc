import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import type { EventBus } from '@hishamos/messaging';
import { ApiError, type Authenticator, type AuthRequest, type Identity } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { CliError } from '../src/commands';
import type { CliCommand } from '../src/commands/command';
import { command as budget } from '../src/commands/budget.command';
import { command as usageCmd } from '../src/commands/usage.command';
import {
  gatewayBus,
  newPrefix,
  REPO,
  startMetering,
  usage,
  type MeteringEnv,
  type RunningMetering,
} from '../../../services/usage-metering/test/fixtures/metering-fixture';

jest.setTimeout(120000);

/**
 * The CLI talks to usage-metering directly here (HISHAMOS_URL points at it). In production the gateway
 * resolves API keys and forwards a signed identity; here the service gets an AUTHENTICATOR that knows two
 * keys, so the CLI sends only `Authorization: Bearer <key>`, as it does in production.
 */
const KEYS: Record<string, Identity> = {
  hos_test_admin: { kind: 'user', subject: 'u-admin', roles: ['admin'], via: 'api_key' },
  hos_test_alice: { kind: 'user', subject: 'u-alice', roles: ['member'], teamId: 'team-1', via: 'api_key' },
};

@Injectable()
class TestKeys implements Authenticator {
  async authenticate(req: AuthRequest): Promise<Identity | undefined> {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return undefined;
    const identity = KEYS[h.replace(/^Bearer\s+/i, '')];
    if (!identity) throw ApiError.unauthorized('invalid API key');
    return identity;
  }
}

class Captured {
  lines: string[] = [];
  log = (line: string) => void this.lines.push(line);
  get text(): string {
    return this.lines.join('\n');
  }
}

describe('hishamos usage / budget against a running usage-metering', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let env: MeteringEnv;
  let svc: RunningMetering;
  let bus: EventBus;
  const cli = async (cmd: CliCommand, args: string[], key = 'hos_test_admin') => {
    const out = new Captured();
    const code = await cmd.run(args, { HISHAMOS_URL: svc.url, HISHAMOS_API_KEY: key }, out);
    return { code, out: out.text };
  };
  const fails = async (cmd: CliCommand, args: string[], key?: string) => {
    const e = await cli(cmd, args, key).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CliError);
    return (e as CliError).message;
  };

  beforeAll(async () => {
    pg = await requirePostgresDatabase('meter_cli');
    env = { adminUrl: pg.url, brokers: await requireKafka(), prefix: newPrefix() };
    svc = await startMetering(env, { authenticator: TestKeys });
    bus = await gatewayBus(env);
    const day = new Date().toISOString().slice(0, 10);
    const records = [
      usage({ userId: 'u-alice', agent: 'coding', command: 'write_code' }), // $0.0075
      usage({ userId: 'u-alice', agent: 'qa', command: 'write_test', model: 'gpt-4o-mini' }), // $0.00045
      usage({
        userId: 'u-bob',
        agent: 'coding',
        command: 'debug',
        usage: { inputTokens: 2000n, outputTokens: 1000n, cachedInputTokens: 0n },
      }), // $0.015
      usage({ userId: 'u-bob', agent: 'devops', provider: 'acme', model: 'unknown-1' }),
    ];
    for (const r of records) await bus.publish(Topics.UsageRecorded, r, { key: r.userId! });
    await waitFor(async () => (await svc.ctx.db.query(`SELECT 1 FROM api_usage`)).length === 4, {
      what: 'usage ingested',
    });
    expect(day).toMatch(/^\d{4}-/);
  });
  afterAll(async () => {
    await bus?.stop();
    await svc?.stop();
    await pg?.drop();
  });

  it('usage: cost and tokens per user and agent, per agent for one user, per day for both', async () => {
    const all = await cli(usageCmd, []);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^Usage \d{4}-\d{2}-\d{2} \.\. \d{4}-\d{2}-\d{2} \(UTC\), by user, agent$/m);
    expect(all.out).toMatch(/^USER\s+AGENT\s+REQUESTS\s+INPUT\s+OUTPUT\s+CACHED\s+COST USD$/m);
    expect(all.out).toMatch(/^u-bob\s+coding\s+1\s+2,000\s+1,000\s+0\s+0\.015$/m);
    expect(all.out).toMatch(/^u-bob\s+devops\s+1\s+1,000\s+500\s+0\s+0\.00 \(\+1 unpriced\)$/m);
    expect(all.out).toMatch(/^TOTAL\s+4\s+5,000\s+2,500\s+0\s+0\.02295 \(\+1 unpriced\)$/m);

    const alice = await cli(usageCmd, ['--user', 'u-alice']);
    expect(alice.out).toMatch(/user u-alice, by agent$/m);
    expect(alice.out).toMatch(/^coding\s+1\s+1,000\s+500\s+0\s+0\.0075$/m);
    expect(alice.out).toMatch(/^qa\s+1\s+1,000\s+500\s+0\s+0\.00045$/m);

    const both = await cli(usageCmd, ['--user', 'u-alice', '--agent', 'coding', '--since', '2020-01-01']);
    expect(both.out).toMatch(/^Usage 2020-01-01 \.\. .*by day$/m);
    expect(both.out).toMatch(/^\d{4}-\d{2}-\d{2}\s+1\s+1,000\s+500\s+0\s+0\.0075$/m);

    const byModel = await cli(usageCmd, ['--by', 'model,command', '--json']);
    expect(JSON.parse(byModel.out)).toMatchObject({
      groupBy: ['model', 'command'],
      totals: { requests: 4, costUsd: '0.02295' },
    });
    expect((await cli(usageCmd, ['--since', '2020-01-01', '--until', '2020-01-31'])).out).toContain(
      'No usage in this range.',
    );

    // A member sees only their own usage, and is told so for anyone else's.
    const mine = await cli(usageCmd, [], 'hos_test_alice');
    expect(mine.out).not.toContain('u-bob');
    expect(await fails(usageCmd, ['--user', 'u-bob'], 'hos_test_alice')).toMatch(
      /\(403\): you can only read your own usage/,
    );
    expect(await fails(usageCmd, ['--since', 'yesterday'])).toBe(
      "--since takes a date written YYYY-MM-DD, got 'yesterday'",
    );
    expect(await fails(usageCmd, ['--by', 'planet'])).toMatch(/--by: unknown grouping 'planet'/);
    expect(await fails(usageCmd, [], 'hos_wrong')).toMatch(/HISHAMOS_API_KEY was refused/);
  });

  it('budget set / list / delete', async () => {
    const set = await cli(budget, ['set', 'user', 'u-alice', '--period', 'day', '--soft', '50', '--hard', '100']);
    expect(set).toEqual({
      code: 0,
      out: expect.stringMatching(
        /^Budget set: user u-alice, per day: soft \$50\.00, hard \$100\.00 \(spent \$0\.00795 since \d{4}-\d{2}-\d{2}\)$/,
      ),
    });
    expect((await cli(budget, ['set', 'team', 'team-1', '--period', 'month', '--hard', '$1000'])).code).toBe(0);
    expect((await cli(budget, ['set', 'global', '--period', 'week', '--soft', '5000'])).code).toBe(0);

    const list = await cli(budget, ['list']);
    expect(list.out).toMatch(/^SCOPE\s+ID\s+PERIOD\s+SINCE\s+SOFT\s+HARD\s+SPENT\s+RESERVED\s+LEFT\s+SOURCE$/m);
    expect(list.out).toMatch(/^global\s+-\s+week\s+\S+\s+\$5000\.00\s+-\s+\$0\.02295\s+\$0\.00\s+-\s+explicit$/m);
    expect(list.out).toMatch(
      /^team\s+team-1\s+month\s+\S+\s+-\s+\$1000\.00\s+\$0\.00\s+\$0\.00\s+\$1000\.00\s+explicit$/m,
    );
    expect(list.out).toMatch(
      /^user\s+u-alice\s+day\s+\S+\s+\$50\.00\s+\$100\.00\s+\$0\.00795\s+\$0\.00\s+\$99\.99205\s+explicit$/m,
    );
    expect(list.out).toContain('(periods start at midnight UTC)');
    const teamOnly = await cli(budget, ['list', 'team', 'team-1']);
    expect(teamOnly.out.split('\n')).toHaveLength(3);
    // Alice sees the budgets that apply to her; she may not set any.
    const hers = await cli(budget, ['list'], 'hos_test_alice');
    expect(hers.out).toMatch(/^user\s+u-alice/m);
    expect(hers.out).toMatch(/^team\s+team-1/m);
    expect(hers.out).toMatch(/^global/m);
    expect(
      await fails(budget, ['set', 'user', 'u-alice', '--period', 'day', '--hard', '1000'], 'hos_test_alice'),
    ).toMatch(/\(403\): requires one of the roles: admin/);

    expect(await fails(budget, ['set', 'user', 'u-alice', '--period', 'day', '--soft', '10', '--hard', '5'])).toMatch(
      /\(400\): softUsd: the soft limit \(\$10\.00\) must not exceed the hard limit \(\$5\.00\)/,
    );
    expect(await fails(budget, ['set', 'user', '--period', 'day', '--hard', '5'])).toMatch(/say whose budget/);
    expect(await fails(budget, ['set', 'global', '--period', 'year', '--hard', '5'])).toMatch(
      /--period must be day, week or month/,
    );
    expect(await fails(budget, ['set', 'global', '--period', 'day', '--hard', 'lots'])).toMatch(
      /--hard takes an amount in USD/,
    );
    expect(await fails(budget, ['set', 'global', '--period', 'day'])).toMatch(/give --soft USD, --hard USD or both/);
    expect(await fails(budget, ['frobnicate'])).toMatch(/^usage:/);

    expect(await cli(budget, ['delete', 'team', 'team-1', '--period', 'month'])).toEqual({
      code: 0,
      out: 'Budget deleted: team team-1, per month',
    });
    expect(await fails(budget, ['delete', 'team', 'team-1', '--period', 'month'])).toMatch(/\(404\)/);
  });

  it('is found by the hishamos binary', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(join(REPO, 'libs/cli/bin/hishamos'), ['budget', 'list', 'user', 'u-alice'], {
        env: {
          ...process.env,
          HISHAMOS_URL: svc.url,
          HISHAMOS_API_KEY: 'hos_test_admin',
          HISHAMOS_FROM_SOURCE: '1',
          NODE_OPTIONS: '',
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^user\s+u-alice\s+day\s+\S+\s+\$50\.00\s+\$100\.00/m);
  });
});
