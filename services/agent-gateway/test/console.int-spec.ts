/* The admin console in a real browser: Debian's chromium driven by playwright-core against the
 * embedded platform (all six services in one process, PGlite, the local bus), the console built by
 * vite and served by the gateway at /console. Every test keeps a screenshot in test-artifacts/console/. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { SERVICE_NAMES } from '@hishamos/contracts';
import { ALL_SERVICES } from '@hishamos/cli';
import { loadConfig, Platform, PlatformConfig, REPO_ROOT } from '@hishamos/platform';
import { FakeProviderServer } from '@hishamos/providers';
import { waitFor } from '@hishamos/testing';
import { AgentGatewayModule } from '../src/agent-gateway.module';
import { CONSOLE_DIST, CONSOLE_NOT_BUILT, ConsoleModule } from '../src/console';

jest.setTimeout(300_000);

const CHROMIUM = '/usr/bin/chromium';
const CONSOLE_DIR = join(REPO_ROOT, 'services', 'agent-gateway', 'console');
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'console');
const ADMIN_EMAIL = 'admin@console.example';
const ADMIN_PASSWORD = 'console admin password 1';
const ADMIN_KEY = `hos_console1_${'Zx7'.repeat(14)}q`;
const MEMBER_EMAIL = 'mia@console.example';
const MEMBER_PASSWORD = 'member password 12345';
const PROVIDER_KEY = 'sk-fake-console-0123456789abcdef';

/** The gateway as the lead wires it, with the console (a module imported twice is one module). */
@Module({ imports: [AgentGatewayModule, ConsoleModule] })
class GatewayWithConsole {}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the console with vite's JS API (in a child process: vite is ESM) when dist is missing or older
 * than its sources. Builds into a temporary directory and swaps it in, so a concurrent run never serves
 * a half-written build.
 */
function ensureConsoleBuilt(): void {
  const index = join(CONSOLE_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestSource(CONSOLE_DIR)) return;
  const out = `${CONSOLE_DIST}.tmp-${process.pid}`;
  const script = [
    `import('vite')`,
    `.then((vite) => vite.build({ configFile: ${JSON.stringify(join(CONSOLE_DIR, 'vite.config.ts'))}, logLevel: 'warn', build: { outDir: ${JSON.stringify(out)}, emptyOutDir: true } }))`,
    `.catch((e) => { console.error(e); process.exit(1); });`,
  ].join('');
  execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, stdio: 'inherit', timeout: 180_000 });
  if (!existsSync(join(out, 'index.html'))) throw new Error(`vite build did not write ${out}/index.html`);
  const old = `${CONSOLE_DIST}.old-${process.pid}`;
  if (existsSync(CONSOLE_DIST)) renameSync(CONSOLE_DIST, old);
  renameSync(out, CONSOLE_DIST);
  rmSync(old, { recursive: true, force: true });
}

interface Json {
  [k: string]: unknown;
}

describe('admin console (React + Vite) in chromium against the embedded platform', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-console-'));
  let platform: Platform;
  let gateway: string;
  let fake: FakeProviderServer;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let memberId: string;

  /** Calls the API as the bootstrap admin (API key) or with a token. */
  async function call(path: string, opts: { method?: string; body?: unknown; auth?: string } = {}) {
    const res = await fetch(`${gateway}${path}`, {
      method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
      headers: {
        authorization: `Bearer ${opts.auth ?? ADMIN_KEY}`,
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      json = { text };
    }
    return { status: res.status, json };
  }

  /** A run's status and its steps' (for failure messages). */
  async function runState(runId: string): Promise<string> {
    const run = await call(`/v1/runs/${runId}`);
    const steps = (run.json.steps as { id: string; status: string; error: unknown }[] | undefined) ?? [];
    return `${String(run.json.status)} (${steps.map((s) => `${s.id}: ${s.status}${s.error ? ` ${JSON.stringify(s.error)}` : ''}`).join(', ')})`;
  }

  async function tokenOf(email: string, password: string): Promise<string> {
    const res = await call('/v1/auth/login', { body: { email, password }, auth: 'none' });
    expect(res.status).toBe(200);
    return res.json.accessToken as string;
  }

  async function shot(p: Page, name: string, fullPage = true): Promise<void> {
    await p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
  }

  /** Runs a scenario; on failure keeps a screenshot of where it stopped. */
  async function scenario(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      await shot(page, `${name}-FAILED`).catch(() => undefined);
      throw error;
    }
  }

  /** Waits until the locator's text matches. */
  async function textOf(locator: Locator, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
    return waitFor(
      async () => {
        const text = (await locator.textContent({ timeout: 1000 }).catch(() => null)) ?? '';
        return pattern.test(text) ? text : undefined;
      },
      { what: `${what} to match ${pattern}`, timeoutMs, intervalMs: 200 },
    );
  }

  async function signIn(p: Page, email: string, password: string): Promise<void> {
    await p.goto(`${gateway}/console/`);
    await p.fill('input[name=email]', email);
    await p.fill('input[name=password]', password);
    await p.click('button[type=submit]');
    await p.getByTestId('who').waitFor();
  }

  async function navLinks(p: Page): Promise<string[]> {
    return (await p.locator('nav.sidenav a').allTextContents()).map((s) => s.trim());
  }

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (make test installs it)`);
    ensureConsoleBuilt();
    fake = await FakeProviderServer.start({ apiKey: PROVIDER_KEY, models: ['fake-gpt', 'fake-claude'] });
    const env = {
      HISHAMOS_DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      HISHAMOS_BOOTSTRAP_API_KEY: ADMIN_KEY,
      HISHAMOS_BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL,
      HISHAMOS_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // Agents answer offline (price 0) even after the test configures the fake provider.
      DEFAULT_PROVIDER: 'offline',
    };
    const config = loadConfig(PlatformConfig, env);
    platform = new Platform({ config, env, ports: Object.fromEntries(SERVICE_NAMES.map((n) => [n, 0])) });
    await platform.start(
      ALL_SERVICES.map((d) => (d.name === 'agent-gateway' ? { ...d, module: GatewayWithConsole } : d)),
    );
    gateway = platform.services.find((s) => s.definition.name === 'agent-gateway')!.url;
    // The offline model is free by default; a price makes cost visible on the charts and the run.
    const price = await call('/v1/prices', {
      method: 'PUT',
      body: { provider: 'offline', model: 'offline', inputPerMTokUsd: '100', outputPerMTokUsd: '200' },
    });
    expect(price.status).toBe(200);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    admin = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await admin.newPage();
    page.setDefaultTimeout(30_000);
    page.on('dialog', (d) => void d.accept());
  }, 280_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is served at /console by the gateway (the app, its assets, client routes), without signing in', async () => {
    const res = await fetch(`${gateway}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await res.text();
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1];
    const js = await fetch(`${gateway}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${gateway}/console/runs/anything`)).status).toBe(200);
    expect((await fetch(`${gateway}/console/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${gateway}/console/..%2f..%2fpackage.json`)).status).toBe(404);
    // The API itself still needs credentials.
    expect((await fetch(`${gateway}/v1/users`)).status).toBe(401);
    expect(CONSOLE_NOT_BUILT).toBe('console not built: run npm run console:build');
  });

  it('signs in: wrong password in plain words, then a role-aware console for the admin', async () => {
    await scenario('sign-in', async () => {
      await page.goto(`${gateway}/console/`);
      await page.fill('input[name=email]', ADMIN_EMAIL);
      await page.fill('input[name=password]', 'not the password');
      await page.click('button[type=submit]');
      await textOf(page.getByRole('alert'), /Sign-in failed: invalid email or password/, 'sign-in error');
      await shot(page, '01-sign-in-error');

      await page.fill('input[name=password]', ADMIN_PASSWORD);
      await page.click('button[type=submit]');
      await textOf(page.getByTestId('who'), /admin@console\.example \(admin\)/, 'signed-in user');
      expect(await navLinks(page)).toEqual([
        'Platform Configuration',
        'User Permissions',
        'Token Management',
        'Runs',
        'Agents',
        'Alerts',
      ]);
      // Admins land on Platform Configuration.
      await page.getByRole('heading', { name: 'Platform Configuration' }).waitFor();
      expect(page.url()).toContain('#/providers');
      await shot(page, '01-signed-in-admin');
    });
  });

  it('Platform Configuration: adds a provider with a write-only key and tests its connection against the fake provider', async () => {
    await scenario('provider', async () => {
      // The fake provider listens on loopback, which the SSRF rules refuse unless allowed.
      expect(
        (await call('/v1/providers/allowed-hosts', { body: { host: '127.0.0.1', note: 'console test' } })).status,
      ).toBe(201);
      await page.goto(`${gateway}/console/#/providers`);
      await page.getByRole('button', { name: 'Add provider' }).click();
      const form = page.getByTestId('provider-form');
      await form.locator('input[name=id]').fill('local-fake');
      await form.locator('input[name=name]').fill('Local fake LLM');
      await form.locator('select[name=kind]').selectOption('openai-compatible');
      await form.locator('input[name=baseUrl]').fill(fake.openaiBaseUrl);
      await form.locator('input[name=defaultModel]').fill('fake-gpt');
      await form.locator('input[name=apiKey]').fill(PROVIDER_KEY);
      expect(await form.locator('input[name=apiKey]').getAttribute('type')).toBe('password');
      await form.getByRole('button', { name: 'Save provider' }).click();
      const row = page.locator('tr[data-provider="local-fake"]');
      await textOf(row, /set \(…cdef\)/, 'provider row with the key hint');
      // The key is never shown again: not in the page, not in the API's answer.
      expect(await page.content()).not.toContain(PROVIDER_KEY);
      const stored = await call('/v1/providers/local-fake');
      expect(JSON.stringify(stored.json)).not.toContain(PROVIDER_KEY);
      expect(stored.json).toMatchObject({ apiKeySet: true, baseUrl: fake.openaiBaseUrl, defaultModel: 'fake-gpt' });

      const modelCalls = fake.count('openai.models');
      await row.getByRole('button', { name: 'Test Connection' }).click();
      const ok = await textOf(row.getByTestId('test-result'), /Connected/, 'connection test result');
      expect(ok).toMatch(/2 models/);
      expect(ok).toContain('fake-gpt');
      expect(fake.count('openai.models')).toBe(modelCalls + 1);
      await shot(page, '02-provider-connected');

      // A wrong key: the provider's own error, in the row.
      await row.getByRole('button', { name: 'Edit' }).click();
      await form.locator('input[name=apiKey]').fill('sk-wrong-key-00000000000000000');
      await form.getByRole('button', { name: 'Save provider' }).click();
      await textOf(row, /set \(…0000\)/, 'provider row with the new key hint');
      await row.getByRole('button', { name: 'Test Connection' }).click();
      const failed = await textOf(row.getByTestId('test-result'), /failed/, 'failed connection test');
      expect(failed).toMatch(/401/);
      await shot(page, '02-provider-failed');

      // Disable it again through its toggle (agents keep answering offline either way).
      await row.getByRole('switch', { name: 'Local fake LLM enabled' }).click();
      await waitFor(async () => (await call('/v1/providers/local-fake')).json.enabled === false, {
        what: 'provider disabled',
      });
    });
  });

  it('User Permissions: creates a member, toggles an agent off and on; the API refuses, then allows it', async () => {
    await scenario('agent-toggle', async () => {
      await page.goto(`${gateway}/console/#/users`);
      await page.getByRole('button', { name: 'Add user' }).click();
      const form = page.getByTestId('create-user-form');
      await form.locator('input[name=email]').fill(MEMBER_EMAIL);
      await form.locator('input[name=name]').fill('Mia Member');
      await form.locator('input[name=password]').fill(MEMBER_PASSWORD);
      await form.getByRole('button', { name: 'Create user' }).click();
      const panel = page.getByTestId('user-panel');
      await textOf(panel, /Mia Member/, 'the new user panel');
      const row = page.locator(`tr[data-user="${MEMBER_EMAIL}"]`);
      expect(await row.getByRole('checkbox', { name: `${MEMBER_EMAIL} member` }).isChecked()).toBe(true);
      expect(await row.getByRole('checkbox', { name: `${MEMBER_EMAIL} admin` }).isChecked()).toBe(false);
      const users = await call(`/v1/users?q=${encodeURIComponent(MEMBER_EMAIL)}`);
      memberId = (users.json.data as { id: string }[])[0].id;

      // The roles grid: give the member the viewer role too, then take it back.
      await row.getByRole('checkbox', { name: `${MEMBER_EMAIL} viewer` }).check();
      await waitFor(async () => ((await call(`/v1/users/${memberId}`)).json.roles as string[]).includes('viewer'), {
        what: 'viewer role added',
      });
      await row.getByRole('checkbox', { name: `${MEMBER_EMAIL} viewer` }).uncheck();
      await waitFor(
        async () => JSON.stringify((await call(`/v1/users/${memberId}`)).json.roles) === JSON.stringify(['member']),
        { what: 'viewer role removed' },
      );

      // "Can use the QA Agent?" -> no.
      const qa = panel.locator('li[data-agent="qa"]');
      await qa.getByRole('switch').click();
      await textOf(qa, /denied/, 'qa toggle denied');
      await shot(page, '03-agent-toggled-off');

      const memberToken = await tokenOf(MEMBER_EMAIL, MEMBER_PASSWORD);
      const runQa = () =>
        call('/v1/agents/qa/commands/reproduce_bug', {
          body: { inputs: { report: 'Export button does nothing in Safari' } },
          auth: memberToken,
        });
      const refused = await runQa();
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ error: { code: 'forbidden_agent' } });

      // The member's own console: no admin pages, and the refusal in plain words.
      const memberContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const member = await memberContext.newPage();
      try {
        await signIn(member, MEMBER_EMAIL, MEMBER_PASSWORD);
        expect(await navLinks(member)).toEqual(['Token Management', 'Runs', 'Agents', 'Notifications']);
        expect(member.url()).toContain('#/runs');
        await member.goto(`${gateway}/console/#/agents/qa/reproduce_bug`);
        const runForm = member.getByTestId('run-command');
        await runForm.locator('textarea[name=report]').fill('Export button does nothing in Safari');
        await runForm.getByRole('button', { name: 'Run reproduce_bug' }).click();
        await textOf(
          runForm.getByRole('alert'),
          /You are not allowed to do this: you may not use the QA/,
          'the refusal in plain words',
        );
        await shot(member, '03-member-refused');

        // The admin allows it again.
        await qa.getByRole('switch').click();
        await textOf(qa, /allowed/, 'qa toggle allowed');
        expect(await runQa()).toMatchObject({ status: 200 });

        await runForm.getByRole('button', { name: 'Run reproduce_bug' }).click();
        const result = member.getByTestId('execution-result');
        await result.waitFor();
        expect(await result.getAttribute('data-status')).toBe('succeeded');
        await textOf(result, /offline/, 'the offline answer');
        await shot(member, '03-member-allowed');
      } finally {
        await memberContext.close();
      }
      await shot(page, '03-agent-toggled-on');
    });
  });

  it('Token Management: soft and hard limits set from the page, drawn on the usage charts, spend today against them', async () => {
    await scenario('budget', async () => {
      expect(memberId).toBeDefined();
      await page.goto(`${gateway}/console/#/tokens?user=${memberId}&metric=cost`);
      const form = page.getByTestId('budget-form');
      await form.locator('select[name=user]').selectOption(memberId);
      await form.locator('select[name=period]').selectOption('day');
      await form.locator('input[name=softUsd]').fill('0.50');
      await form.locator('input[name=hardUsd]').fill('1.00');
      await form.getByRole('button', { name: 'Save limits' }).click();
      await textOf(
        page.getByTestId('budgets'),
        new RegExp(`Saved: user ${MEMBER_EMAIL.replace('.', '\\.')} day — soft \\$0\\.50, hard \\$1\\.00`),
        'limits saved',
      );
      const limits = await call(`/v1/spend/users/${memberId}`);
      expect(limits.json.day).toMatchObject({ softUsd: '0.50', hardUsd: '1.00' });
      await textOf(page.getByTestId('budgets-table'), /\$0\.50.*\$1\.00/, 'the limits in the budgets table');

      // The member's qa runs, once usage-metering has ingested them, per agent (with the limits drawn) and per user.
      const chartWith = (metric: 'cost' | 'tokens') =>
        waitFor(
          async () => {
            await page.goto(`${gateway}/console/#/tokens?user=${memberId}&metric=${metric}`);
            const legend = page.getByTestId('chart-agents').locator('.recharts-legend-item');
            await legend.first().waitFor({ timeout: 3000 });
            return (await legend.allTextContents()).includes('qa');
          },
          { what: `qa usage on the ${metric} chart`, timeoutMs: 60_000, intervalMs: 1000 },
        );
      await chartWith('cost');
      const chart = page.getByTestId('chart-agents');
      await textOf(chart, /soft \$0\.50/, 'soft limit line');
      await textOf(chart, /hard \$1\.00/, 'hard limit line');
      expect(await chart.locator('.recharts-reference-line').count()).toBe(2);
      expect(await chart.locator('.recharts-bar-rectangle').count()).toBeGreaterThan(0);
      // Spend today against the limits (the offline model's test price makes the runs cost something).
      const spent = ((await call(`/v1/spend/users/${memberId}`)).json.day as { spentUsd: string }).spentUsd;
      expect(Number(spent)).toBeGreaterThan(0);
      const today = page.locator('[data-testid="spend-today"] [data-period="day"]');
      await textOf(today, /soft \$0\.50 · hard \$1\.00/, 'spend today against the limits');
      await textOf(today, /^Today\$(0\.0*[1-9]|[1-9])/, 'a non-zero spend today');
      await shot(page, '04-token-management-limits');

      await chartWith('tokens');
      expect(await page.getByTestId('chart-agents').locator('.recharts-bar-rectangle').count()).toBeGreaterThan(0);
      await page.getByTestId('chart-users').locator('.recharts-legend-item').first().waitFor();
      expect(await page.getByTestId('chart-users').locator('.recharts-legend-item').allTextContents()).toContain(
        MEMBER_EMAIL,
      );
      await shot(page, '04-token-management-tokens');
    });
  });

  it("User Permissions: sets a user's daily budget (kept at usage-metering)", async () => {
    await scenario('daily-budget', async () => {
      expect(memberId).toBeDefined();
      await page.goto(`${gateway}/console/#/users?user=${memberId}`);
      const panel = page.getByTestId('user-panel');
      await panel.getByTestId('user-spend').waitFor();
      await panel.locator('input[name=dailyBudgetUsd]').fill('2.00');
      await panel.getByRole('button', { name: 'Set daily budget' }).click();
      const outcome = await textOf(
        panel,
        /Daily budget set to \$2\.00|The request was not accepted.*|A service .*/,
        'daily budget outcome',
      );
      await shot(page, '04-daily-budget');
      if (!/Daily budget set to/.test(outcome))
        throw new Error(
          `the gateway could not set the daily budget at usage-metering; the console shows: "${await panel.getByRole('alert').locator('span').first().textContent()}"`,
        );
      await textOf(panel.getByTestId('daily-hard-limit'), /\$2\.00/, 'daily hard limit shown');
      expect((await call(`/v1/spend/users/${memberId}`)).json.day).toMatchObject({ hardUsd: '2.00' });
    });
  });

  it('Runs: starts a workflow, follows its steps live, approves the waiting step, rates the output', async () => {
    await scenario('workflow', async () => {
      const registered = await call('/v1/workflows', {
        body: {
          definition: {
            id: 'console-review',
            name: 'Console review',
            version: 1,
            description: 'User stories, a sign-off, then a bug reproduction plan',
            inputs: {
              type: 'object',
              required: ['feature'],
              properties: { feature: { type: 'string', minLength: 1, description: 'The feature to describe' } },
            },
            steps: [
              {
                id: 'draft',
                agent: 'business-analyst',
                command: 'write_user_stories',
                inputs: { feature: '${inputs.feature}' },
              },
              {
                id: 'sign_off',
                type: 'approval',
                depends_on: ['draft'],
                approvers: ['admin', 'operator'],
                prompt: 'Publish these stories?',
              },
              {
                id: 'check',
                agent: 'qa',
                command: 'reproduce_bug',
                depends_on: ['sign_off'],
                inputs: { report: '${steps.draft.sections.stories}' },
              },
            ],
            outputs: { stories: '${steps.draft.sections.stories}' },
          },
        },
      });
      expect(registered.status).toBe(201);

      await page.goto(`${gateway}/console/#/runs`);
      const start = page.getByTestId('start-workflow');
      await start.locator('select[name=start]').selectOption('console-review');
      await start.getByRole('button', { name: 'Start run' }).click();
      // Client-side: the required input is named before anything is sent.
      await textOf(start, /is required/, 'required input named');
      await start.locator('textarea[name=feature]').fill('Export invoices as CSV');
      await start.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      const runId = /#\/runs\/([0-9a-f-]{36})$/.exec(page.url())![1];

      // Live: the stream is open and the approval step turns up waiting.
      await textOf(page.getByTestId('live-state'), /live/, 'live event stream');
      const signOff = page.locator('li[data-step="sign_off"]');
      await waitFor(async () => (await signOff.getAttribute('data-status')) === 'waiting_approval', {
        what: 'sign_off waiting for approval',
        timeoutMs: 60_000,
        intervalMs: 200,
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}; the run is ${await runState(runId)}`);
      });
      expect(await page.locator('li[data-step="draft"]').getAttribute('data-status')).toBe('succeeded');
      await textOf(signOff, /Publish these stories\?/, 'approval prompt');
      await shot(page, '05-run-waiting-approval');

      await signOff.getByRole('textbox', { name: 'Decision comment' }).fill('ship it');
      await signOff.getByRole('button', { name: 'Approve' }).click();
      const check = page.locator('li[data-step="check"]');
      await waitFor(async () => (await check.getAttribute('data-status')) === 'succeeded', {
        what: 'check step succeeded after the approval (pushed over SSE)',
        timeoutMs: 60_000,
        intervalMs: 200,
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}; the run is ${await runState(runId)}`);
      });
      await textOf(signOff.getByTestId('decision'), /Approved by you: “ship it”/, 'the decision');
      await textOf(page.locator('h1'), /succeeded/, 'run succeeded');
      await textOf(page.getByTestId('live-state'), /finished/, 'stream ended with the run');
      const events = await page.getByTestId('events').locator('li').allTextContents();
      expect(events.some((e) => e.includes('sign_off'))).toBe(true);
      await textOf(page.getByTestId('run-cost'), /^\$(0\.0*[1-9]|[1-9])/, 'a non-zero run cost');
      const run = await call(`/v1/runs/${runId}`);
      expect(run.json).toMatchObject({ status: 'succeeded' });
      await shot(page, '05-run-succeeded');

      // Rate the draft's output 4/5 and see its quality score.
      const draft = page.locator('li[data-step="draft"]');
      await textOf(draft.getByTestId('quality-score'), /Quality \d+(\.\d)?\/10/, 'quality score', 60_000);
      const rate = draft.getByTestId('rate-output');
      await rate.getByRole('radio', { name: 'Rate 4 out of 5' }).click();
      await rate.getByRole('textbox', { name: 'Feedback comment' }).fill('Clear stories, thin on edge cases');
      await rate.getByRole('button', { name: 'Rate' }).click();
      await textOf(rate.getByTestId('rating-saved'), /You rated this 4\/5/, 'rating saved');
      const executionId = (run.json.steps as { id: string; executionId: string }[]).find(
        (s) => s.id === 'draft',
      )!.executionId;
      const feedback = await call(`/v1/executions/${executionId}/feedback`);
      expect(feedback.json.items).toEqual([
        expect.objectContaining({ rating: 4, text: 'Clear stories, thin on edge cases' }),
      ]);
      await shot(page, '06-output-rated');

      // A narrow screen: the menu folds away, tables stack.
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        await page.goto(`${gateway}/console/#/runs/${runId}`);
        await page.locator('li[data-step="check"]').waitFor();
        expect(await page.locator('nav.sidenav').isVisible()).toBe(false);
        await page.getByRole('button', { name: 'Menu' }).click();
        expect(await page.locator('nav.sidenav').isVisible()).toBe(true);
        await shot(page, '07-narrow-menu', false);
        await page.locator('nav.sidenav').getByRole('link', { name: 'Runs', exact: true }).click();
        await page.getByTestId('runs-table').waitFor();
        expect(await page.locator('nav.sidenav').isVisible()).toBe(false);
        await shot(page, '07-narrow-runs', false);
      } finally {
        await page.setViewportSize({ width: 1366, height: 900 });
      }
    });
  });

  it('Agents and Alerts: command library search and pages, template versions; a new alert rule, disabled and enabled', async () => {
    await scenario('agents-alerts', async () => {
      await page.goto(`${gateway}/console/#/agents`);
      await page.getByTestId('roster').locator('a[data-agent]').first().waitFor();
      expect(await page.getByTestId('roster').locator('a[data-agent]').count()).toBe(15);
      const library = page.getByTestId('command-library');
      const count = await textOf(library, /\d+ commands/, 'command count');
      expect(Number(/(\d+) commands/.exec(count)![1])).toBeGreaterThanOrEqual(350);
      expect(await library.locator('tbody tr').count()).toBe(10);
      await library.getByRole('button', { name: 'Next ›' }).click();
      await textOf(library, /Page 2 of/, 'second page');
      await library.getByRole('searchbox', { name: 'Search commands' }).fill('reproduce bug');
      await library.getByRole('button', { name: 'Search' }).click();
      await library.locator('tr[data-command="qa/reproduce_bug"]').waitFor();
      await shot(page, '08-command-library');
      await library.locator('tr[data-command="qa/reproduce_bug"] a').click();
      const versions = page.getByTestId('template-versions');
      await textOf(versions, /production → v1/, 'template labels');
      await versions.getByRole('button', { name: 'Template' }).first().click();
      await textOf(page.getByTestId('template-text'), /\{\w+\}/, 'template text with placeholders');

      // The same command as a task: the orchestrator runs it, followed on the Runs page.
      const runForm = page.getByTestId('run-command');
      await runForm.locator('textarea[name=report]').fill('Totals are wrong after a refund');
      await runForm.locator('select[name=mode]').selectOption('task');
      await runForm.getByRole('button', { name: 'Run reproduce_bug' }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      await textOf(page.locator('h1'), /succeeded/, 'the task run succeeded', 60_000);
      expect(await page.locator('li[data-step]').count()).toBe(1);
      await shot(page, '08-task-run');

      await page.goto(`${gateway}/console/#/alerts?tab=rules`);
      await page.getByTestId('rules-table').locator('tbody tr').first().waitFor();
      await page.getByRole('button', { name: 'New rule' }).click();
      const form = page.getByTestId('rule-form');
      await form.locator('input[name=name]').fill('console_test_rule');
      await form.locator('input[name=description]').fill('From the console test');
      await form.locator('select[name=eventType] option').nth(1).waitFor({ state: 'attached' });
      await form.locator('select[name=eventType]').selectOption('workflow');
      await form.locator('input[name=condition]').fill('kind == "FAILED"');
      await form.locator('textarea[name=messageTemplate]').fill('Workflow {workflow_name} failed: {error}');
      await form.locator('fieldset input[type=checkbox]').first().check();
      await form.getByRole('button', { name: 'Check' }).click();
      await textOf(form, /The rule is valid\./, 'rule check');
      await form.getByRole('button', { name: 'Create rule' }).click();
      const row = page.locator('tr[data-rule="console_test_rule"]');
      await row.waitFor();
      const toggle = row.getByRole('switch');
      expect(await toggle.getAttribute('aria-checked')).toBe('true');
      await toggle.click();
      await waitFor(async () => (await toggle.getAttribute('aria-checked')) === 'false', { what: 'rule disabled' });
      await toggle.click();
      await waitFor(async () => (await toggle.getAttribute('aria-checked')) === 'true', { what: 'rule enabled' });
      // Edit it: a higher severity.
      await row.getByRole('button', { name: 'Edit' }).click();
      await form.locator('select[name=severity]').selectOption('error');
      await form.getByRole('button', { name: 'Save rule' }).click();
      await textOf(row, /error/, 'the edited severity');
      const rules = await call('/v1/alert-rules');
      expect(
        (rules.json.data as { name: string; severity: string }[]).find((r) => r.name === 'console_test_rule'),
      ).toMatchObject({
        severity: 'error',
        enabled: true,
      });
      await shot(page, '09-alert-rules');
      await page.getByRole('tab', { name: 'Notifications' }).click();
      await page.getByRole('checkbox', { name: 'Unread only' }).waitFor();
      await shot(page, '09-notifications');
    });
  });
});
