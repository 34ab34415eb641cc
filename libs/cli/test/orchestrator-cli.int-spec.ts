import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { ApiError, AUTHENTICATOR, type Authenticator, type AuthRequest, type Identity } from '@hishamos/platform';
import { definition, OrchestratorModule } from '@hishamos/orchestrator';
import { waitFor } from '@hishamos/testing';
import { CliError } from '../src/commands';
import type { CliCommand } from '../src/commands/command';
import { command as task } from '../src/commands/task.command';
import { command as workflow } from '../src/commands/workflow.command';
import { command as runs } from '../src/commands/runs.command';
import { command as approve } from '../src/commands/approve.command';
import { command as reject } from '../src/commands/reject.command';
import { OrchestratorEnv, REPO } from '../../../services/orchestrator/test/fixtures/orchestrator-env';

jest.setTimeout(120000);

/**
 * The CLI talks to the orchestrator directly here (HISHAMOS_URL points at it). In production the gateway
 * resolves API keys and forwards a signed identity; this test gives the orchestrator an AUTHENTICATOR that
 * knows two API keys instead, so the CLI's `Authorization: Bearer <key>` is all it sends, as in production.
 */
const KEYS: Record<string, Identity> = {
  hos_test_admin: { kind: 'user', subject: 'u-admin', roles: ['admin'], via: 'api_key' },
  hos_test_alice: { kind: 'user', subject: 'u-alice', roles: ['member'], via: 'api_key' },
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

@Module({ imports: [OrchestratorModule], providers: [{ provide: AUTHENTICATOR, useClass: TestKeys }] })
class OrchestratorWithKeys {}

class Captured {
  lines: string[] = [];
  frames: string[][] = [];
  log = (line: string) => void this.lines.push(line);
  live = (lines: string[]) => void this.frames.push(lines);
  get text(): string {
    return this.lines.join('\n');
  }
}

describe('hishamos task / workflow / runs / approve / reject against a running orchestrator', () => {
  const env = new OrchestratorEnv();
  let url: string;
  const as = (key: string) => ({ HISHAMOS_URL: url, HISHAMOS_API_KEY: key });
  const cli = async (cmd: CliCommand, args: string[], key = 'hos_test_alice') => {
    const out = new Captured();
    const code = await cmd.run(args, as(key), out);
    return { code, out };
  };

  beforeAll(async () => {
    await env.setup('cli');
    const svc = await env.startInProcess({}, { ...definition, module: OrchestratorWithKeys });
    url = svc.url;
  });
  afterAll(() => env.teardown());

  it('task: runs one command, shows live progress, then the output and tokens', async () => {
    env.executor.script = () => ({ delayMs: 100 });
    const { code, out } = await cli(task, [
      'business-analyst',
      'write_user_stories',
      '--input',
      'feature=Export invoices as CSV',
      '--priority',
      'high',
    ]);
    expect(code).toBe(0);
    const first = out.frames[0];
    expect(first[0]).toMatch(/^business-analyst\/write_user_stories \([0-9a-f-]{36}\) {2}(queued|running)/);
    const last = out.frames[out.frames.length - 1];
    expect(last[0]).toContain('succeeded  [####################] 1/1 steps');
    expect(last[1]).toMatch(/✓ task {2}business-analyst\/write_user_stories {2}succeeded/);
    expect(out.text).toContain('## Story Map');
    expect(out.text).toMatch(/tokens in 100, out 50/);
    const request = env.executor.executions().at(-1)!.request;
    expect(request.inputs).toEqual({ feature: 'Export invoices as CSV' });
  });

  it('task: --input-file with typed values, and bad input as one line naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const file = join(dir, 'inputs.json');
    writeFileSync(file, JSON.stringify({ report: 'Checkout button does nothing on Safari 17' }));
    env.executor.script = () => ({});
    expect((await cli(task, ['qa', 'reproduce_bug', '--input-file', file])).code).toBe(0);
    await expect(cli(task, ['coding', 'write_code', '--input', 'feature=x'])).rejects.toThrow(
      new CliError('POST /v1/tasks failed (400): inputs.language: is required but missing'),
    );
    await expect(cli(task, ['coding', 'write_code', '--input', 'feature'])).rejects.toThrow(
      '--input feature: write it as name=value',
    );
    await expect(cli(task, ['coding'])).rejects.toThrow(/^usage: hishamos task/);
  });

  it('workflow register/run/approve: live step list, waits for approval, resumes, prints the outputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const file = join(dir, 'release-notes.yaml');
    writeFileSync(
      file,
      [
        'id: release-notes',
        'name: Release notes',
        'version: 1',
        'description: Stories, a sign-off, then a bug reproduction plan',
        'inputs:',
        '  type: object',
        '  required: [feature]',
        '  properties: { feature: { type: string, minLength: 1 } }',
        'steps:',
        '  - id: draft',
        '    agent: business-analyst',
        '    command: write_user_stories',
        '    inputs: { feature: "${inputs.feature}" }',
        '  - id: sign_off',
        '    type: approval',
        '    depends_on: [draft]',
        '    approvers: [operator]',
        '    prompt: Publish these notes?',
        '  - id: check',
        '    agent: qa',
        '    command: reproduce_bug',
        '    depends_on: [sign_off]',
        '    inputs: { report: "${steps.draft.sections.stories}" }',
        'outputs:',
        '  stories: "${steps.draft.sections.stories}"',
        '  plan: "${steps.check.output}"',
        '',
      ].join('\n'),
    );
    await expect(cli(workflow, ['register', file])).rejects.toThrow(/requires one of the roles: admin, operator/);
    const registered = await cli(workflow, ['register', file], 'hos_test_admin');
    expect(registered.out.text).toBe('registered release-notes version 1');
    expect((await cli(workflow, ['list'])).out.text).toMatch(/release-notes\s+1\s+3\s+Release notes/);

    env.executor.script = () => ({ delayMs: 50 });
    const running = cli(workflow, ['run', 'Release notes', '--input', 'feature=Dark mode']);
    const waiting = await waitFor(
      async () => {
        const list = await cli(runs, ['--status', 'running']);
        const line = list.out.lines.find((l) => l.includes('Release notes'));
        return line?.split(' ')[0];
      },
      { what: 'running release-notes run' },
    );
    const runId = waiting!;
    const shown = await waitFor(
      async () => {
        const r = await cli(runs, [runId]);
        return r.out.text.includes('waiting_approval') ? r.out.text : undefined;
      },
      { what: 'waiting for approval' },
    );
    expect(shown).toContain(`⏸ sign_off  approval  waiting_approval`);
    expect(shown).toContain(`hishamos approve ${runId} sign_off`);
    await expect(cli(approve, [runId, 'sign_off'])).rejects.toThrow(/only admin, operator may decide step sign_off/);
    const approved = await cli(approve, [runId, 'sign_off', '--comment', 'ship it'], 'hos_test_admin');
    expect(approved.out.text).toBe(`approved step sign_off of run ${runId}; the run is running`);
    const { code, out } = await running;
    expect(code).toBe(0);
    const frames = out.frames.map((f) => f.join('\n'));
    expect(frames.some((f) => f.includes('⏸ sign_off'))).toBe(true);
    expect(frames.at(-1)).toContain('✓ check');
    expect(out.text).toContain('── stories');
    expect(out.text).toContain('stories of draft (business-analyst/write_user_stories)');
    expect(out.text).toContain('── plan');
    expect(out.text).toMatch(/tokens in 200, out 100/);
  });

  it('reject: the followed run fails with the reason; runs lists it', async () => {
    env.executor.script = () => ({});
    const id = (await cli(workflow, ['run', 'release-notes', '--input', 'feature=Beta', '--detach'])).out.text.trim();
    await waitFor(async () => (await cli(runs, [id])).out.text.includes('waiting_approval'), { what: 'approval wait' });
    const following = cli(runs, [id, '--follow']);
    const rejected = await cli(reject, [id, 'sign_off', '--comment', 'not this release'], 'hos_test_admin');
    expect(rejected.out.text).toBe(`rejected step sign_off of run ${id}; the run is failed`);
    const { code, out } = await following;
    expect(code).toBe(1);
    expect(out.text).toContain('run failed: step sign_off rejected by u-admin: not this release');
    const list = await cli(runs, ['--status', 'failed']);
    expect(list.out.lines[0]).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+USER\s+CREATED\s+TOOK\s+ERROR$/);
    expect(list.out.text).toContain(id);
    expect(list.out.text).toContain('step sign_off rejected by u-admin');
    const mineOnly = await cli(runs, ['--limit', '2']);
    expect(mineOnly.out.lines.filter((l) => /^[0-9a-f-]{36} /.test(l))).toHaveLength(2);
    expect(mineOnly.out.text).toContain('more: hishamos runs --cursor ');
  });

  it('a wrong key or URL is one line on stderr, not a stack trace', async () => {
    const run = (extra: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
        const child = spawn(join(REPO, 'libs/cli/bin/hishamos'), ['runs'], {
          env: { PATH: process.env.PATH ?? '', HISHAMOS_FROM_SOURCE: '1', ...extra },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        let stdout = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.stdout.on('data', (d) => (stdout += d));
        child.on('exit', (code) => resolve({ code, stderr, stdout }));
      });
    const [badKey, badUrl] = await Promise.all([
      run({ HISHAMOS_URL: url, HISHAMOS_API_KEY: 'hos_wrong' }),
      run({ HISHAMOS_URL: 'http://127.0.0.1:9', HISHAMOS_API_KEY: 'hos_test_alice' }),
    ]);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toBe(`hishamos: HISHAMOS_API_KEY was refused by ${url}: invalid API key\n`);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toMatch(
      /^hishamos: cannot reach HishamOS at http:\/\/127\.0\.0\.1:9 \((ECONNREFUSED|fetch failed)\); set HISHAMOS_URL/,
    );
    expect(badUrl.stderr.trim().split('\n')).toHaveLength(1);
  });
});
