import { createHmac } from 'node:crypto';
import {
  BudgetPeriod,
  BudgetScope,
  BudgetThreshold,
  CircuitState,
  Topics,
  WorkflowEventKind,
} from '@hishamos/contracts';
import { waitFor } from '@hishamos/testing';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../src/channels/webhook.channel';
import {
  checkPagerDuty,
  checkSlack,
  startFakeSecrets,
  startHttpPeer,
  startSmtp,
  type HttpPeer,
  type Received,
} from './support/peers';
import { api, asService, asUser, removeDir, startAlerting, type Running } from './support/service';

jest.setTimeout(120000);

const ROUTING_KEY = 'R0UT1NGK3Y0123456789abcdefABCDEF';
const AM_TOKEN = 'alertmanager-token-0123456789';

type Json = Record<string, unknown>;
type Rule = Json & { id: string; name: string; revision: number; enabled: boolean };
type Delivery = Json & { channel: string; status: string; attempts: number; attemptLog: Json[] };

const json = (r: Received) => JSON.parse(r.body) as Json;
const slackText = (r: Received) => (json(r).attachments as Json[])[0].text as string;

describe('alerting service (embedded: PGlite and the local bus)', () => {
  let svc: Running & { dataDir: string };
  let call: ReturnType<typeof api>;
  let slack: HttpPeer;
  let pd: HttpPeer;
  let hook: HttpPeer;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let secrets: Awaited<ReturnType<typeof startFakeSecrets>>;
  const secretValues = new Map<string, string>();
  const admin = asUser('u-admin', ['admin']);

  const start = async () => {
    svc = await startAlerting({
      dataDir: svc?.dataDir,
      config: { SECRETS_URL: secrets.url },
      env: {
        PAGERDUTY_EVENTS_URL: `${pd.url}/v2/enqueue`,
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(smtp.port),
        ALERT_EMAIL_TO: 'oncall@hishamos.test',
        ALERTMANAGER_WEBHOOK_TOKEN: AM_TOKEN,
      },
    });
    call = api(svc.url);
  };

  beforeAll(async () => {
    slack = await startHttpPeer({ status: 200, body: 'ok' }, checkSlack);
    pd = await startHttpPeer({ status: 202, body: { status: 'success', message: 'Event processed' } }, checkPagerDuty);
    hook = await startHttpPeer({ status: 200, body: {} });
    smtp = await startSmtp({ alerts: 'smtp-pass' });
    secrets = await startFakeSecrets('alerting-test-service-token-0123456789abcdef', secretValues);
    secretValues.set('channels/slack/webhook-url', `${slack.url}/services/T1/B1/SECRET`);
    secretValues.set('channels/pagerduty/routing-key', ROUTING_KEY);
    secretValues.set('channels/email/smtp', JSON.stringify({ user: 'alerts', pass: 'smtp-pass' }));
    secretValues.set('webhooks/ops', 'whsec-first-0123456789');
    secretValues.set('channels/pagerduty/bad-key', 'too-short');
    await start();
  });

  afterAll(async () => {
    await svc?.stop();
    await Promise.all([slack?.close(), pd?.close(), hook?.close(), smtp?.close(), secrets?.close()]);
    if (svc) removeDir(svc.dataDir);
  });

  const rules = async () => (await call<{ data: Rule[] }>('GET', '/v1/alert-rules', admin)).body.data;
  const channelId = async (name: string) =>
    (await call<{ data: (Json & { id: string; name: string })[] }>('GET', '/v1/channels', admin)).body.data.find(
      (c) => c.name === name,
    )!.id;
  const pdEvents = () => pd.requests.map(json);

  it('seeds the default channels and rules once', async () => {
    const names = (await rules()).map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'high_error_rate',
        'workflow_failed',
        'high_cost',
        'platform_down',
        'low_quality',
        'db_connection_pool_exhausted',
        'budget_hard_limit_reached',
        'unknown_model_priced',
        'dlq_receiving_messages',
        'prometheus_critical',
        'prometheus_alert',
      ]),
    );
    const channels = (await call<{ data: Json[]; types: string[] }>('GET', '/v1/channels', admin)).body;
    expect(channels.data.map((c) => c.name)).toEqual(['email', 'pagerduty', 'slack']);
    expect(channels.types).toEqual(['email', 'slack', 'pagerduty', 'webhook', 'sms']);
    const ready = await call<{ checks: Record<string, Json> }>('GET', '/health/ready', {});
    expect(ready.body.checks['alert-rules']).toMatchObject({ ok: true, enabled: 11 });
    // The operator points the default email channel at the plain-text SMTP server of this test.
    const email = await channelId('email');
    const patched = await call('PATCH', `/v1/channels/${email}`, admin, {
      config: {
        host: '127.0.0.1',
        port: smtp.port,
        tls: 'none',
        from: 'alerts@hishamos.test',
        to: ['oncall@hishamos.test'],
      },
    });
    expect(patched.status).toBe(200);
  });

  it('authorises: viewers read, operators and admins write, members and strangers do not', async () => {
    expect((await call('GET', '/v1/alert-rules', asUser('v', ['viewer']))).status).toBe(200);
    const viewerWrite = await call('POST', '/v1/alert-rules', asUser('v', ['viewer']), {});
    expect(viewerWrite.status).toBe(403);
    expect((await call('GET', '/v1/alert-rules', asUser('m', ['member']))).status).toBe(403);
    expect((await call('GET', '/v1/alert-rules', {})).status).toBe(401);
    expect((await call('GET', '/v1/deliveries', asUser('m', ['member']))).status).toBe(403);
  });

  const customRule = {
    name: 'provider_down_hook',
    description: 'webhook copy of platform_down',
    kind: 'event',
    eventType: 'provider_health',
    condition: 'not healthy and provider != "offline"',
    entity: 'provider',
    resolveWhen: 'healthy',
    severity: 'error',
    channels: ['ops-webhook'],
    cooldownMinutes: 10,
    messageTemplate: 'Provider {provider} is down: {error}',
  };

  it('rejects bad rules at save time with the field and the reason, saving nothing', async () => {
    const before = (await rules()).length;
    const bad = async (patch: Json) =>
      call<{ error: Json }>('POST', '/v1/alert-rules', admin, { ...customRule, channels: ['slack'], ...patch });

    const expr = await bad({ condition: 'not healthy and (provider == "x"' });
    expect(expr.status).toBe(400);
    expect(expr.body.error).toMatchObject({
      code: 'invalid_expression',
      field: 'condition',
      details: { position: 32 },
    });
    expect(expr.body.error.reason).toMatch(/expected '\)', found end of expression at position 32/);

    const channel = await bad({ channels: ['slack', 'teams'] });
    expect(channel.status).toBe(400);
    expect(channel.body.error).toMatchObject({ code: 'unknown_channel', field: 'channels[1]' });
    expect(channel.body.error.message).toMatch(/unknown channel 'teams'/);

    const template = await bad({ messageTemplate: 'Provider {provider} down since {since}' });
    expect(template.status).toBe(400);
    expect(template.body.error).toMatchObject({
      code: 'invalid_template',
      field: 'messageTemplate',
      details: { position: 32 },
    });
    expect(template.body.error.reason).toMatch(/field 'since' is not a field of provider_health events/);

    const field = await bad({ condition: 'not helthy' });
    expect(field.body.error).toMatchObject({ code: 'invalid_expression', field: 'condition' });
    expect(field.body.error.reason).toMatch(/unknown field 'helthy'.*at position 4/);

    const proto = await bad({ condition: 'provider.constructor' });
    expect(proto.body.error.reason).toMatch(/'constructor' is not allowed/);
    const huge = await bad({ condition: `provider == "${'x'.repeat(100_000)}"` });
    expect(huge.status).toBe(400);
    expect(huge.body.error.reason).toMatch(/limit is 2000/);
    const deep = await bad({ condition: `${'('.repeat(100)}healthy${')'.repeat(100)}` });
    expect(deep.body.error.reason).toMatch(/nests deeper/);

    const severity = await bad({ severity: 'fatal' });
    expect(severity.body.error).toMatchObject({ code: 'validation_failed', field: 'severity' });
    const unknownField = await bad({ script: 'process.exit()' });
    expect(unknownField.body.error).toMatchObject({ field: 'script' });
    const metric = await bad({
      kind: 'metric',
      resolveWhen: null,
      metric: { aggregate: 'p99', window: '5m', comparator: '>', threshold: 1 },
    });
    expect(metric.body.error).toMatchObject({ field: 'metric.aggregate' });

    const check = await call<{ valid: boolean }>('POST', '/v1/alert-rules/validate', admin, {
      ...customRule,
      channels: ['slack'],
    });
    expect(check.body).toMatchObject({ valid: true });
    expect((await rules()).length).toBe(before);
  });

  it('manages channels: type, config and secret path checked; names unique; in-use channels kept', async () => {
    const create = (body: Json) => call<{ error: Json; id: string }>('POST', '/v1/channels', admin, body);
    const ok = await create({
      name: 'ops-webhook',
      type: 'webhook',
      config: { url: `${hook.url}/alerts` },
      secretPath: 'webhooks/ops',
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ name: 'ops-webhook', type: 'webhook', secretPath: 'webhooks/ops', enabled: true });
    expect(
      (await create({ name: 'ops-webhook', type: 'webhook', config: { url: hook.url }, secretPath: 'webhooks/ops' }))
        .status,
    ).toBe(409);
    const scope = await create({
      name: 'x1',
      type: 'webhook',
      config: { url: hook.url },
      secretPath: 'ai/platforms/openai',
    });
    expect(scope.body.error).toMatchObject({ field: 'secretPath' });
    const noSecret = await create({ name: 'x2', type: 'pagerduty', config: {} });
    expect(noSecret.body.error).toMatchObject({ field: 'secretPath' });
    const type = await create({ name: 'x3', type: 'teams', config: {} });
    expect(type.body.error).toMatchObject({ code: 'unknown_channel_type', field: 'type' });
    const inline = await create({
      name: 'x4',
      type: 'slack',
      config: { webhookUrl: 'https://hooks.slack.com/x' },
      secretPath: 'channels/s',
    });
    expect(inline.body.error).toMatchObject({ code: 'invalid_channel_config', field: 'config.webhookUrl' });
    const badPd = await create({
      name: 'pd-bad',
      type: 'pagerduty',
      config: {},
      secretPath: 'channels/pagerduty/bad-key',
    });
    expect(badPd.status).toBe(201);
  });

  let rule: Rule;

  it('creates, reads, edits, disables and enables a rule', async () => {
    const created = await call<Rule>('POST', '/v1/alert-rules', admin, customRule);
    expect(created.status).toBe(201);
    rule = created.body;
    expect(rule).toMatchObject({
      name: 'provider_down_hook',
      enabled: true,
      builtin: false,
      revision: 1,
      createdBy: 'u-admin',
    });
    expect((await call('POST', '/v1/alert-rules', admin, customRule)).status).toBe(409);
    expect((await call<Rule>('GET', `/v1/alert-rules/${rule.id}`, admin)).body.name).toBe('provider_down_hook');
    const patched = await call<Rule>('PATCH', `/v1/alert-rules/${rule.id}`, asUser('u-op', ['operator']), {
      description: 'edited',
    });
    expect(patched.body).toMatchObject({ description: 'edited', revision: 2, updatedBy: 'u-op' });
    const badPatch = await call<{ error: Json }>('PATCH', `/v1/alert-rules/${rule.id}`, admin, {
      resolveWhen: 'healthy ==',
    });
    expect(badPatch.body.error).toMatchObject({
      code: 'invalid_expression',
      field: 'resolveWhen',
      details: { position: 10 },
    });
    expect((await call<Rule>('POST', `/v1/alert-rules/${rule.id}/disable`, admin)).body.enabled).toBe(false);
    expect((await call<Rule>('POST', `/v1/alert-rules/${rule.id}/enable`, admin)).body.enabled).toBe(true);
    const inUse = await call<{ error: Json }>('DELETE', `/v1/channels/${await channelId('ops-webhook')}`, admin);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toMatch(/provider_down_hook/);
    expect((await call('GET', '/v1/alert-rules/00000000-0000-4000-8000-000000000000', admin)).status).toBe(404);
    const catalog = await call<{ eventTypes: Json[]; functions: Json[] }>('GET', '/v1/alert-rules/catalog', admin);
    expect(catalog.body.eventTypes.map((e) => e.name)).toContain('provider_health');
  });

  it('a rule that fires then clears: PagerDuty trigger then resolve with the same dedup_key', async () => {
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'anthropic', state: CircuitState.OPEN, healthy: false, error: 'HTTP 529' },
      'anthropic',
    );
    await waitFor(() => pd.requests.length >= 1, { what: 'PagerDuty trigger' });
    await waitFor(() => hook.requests.length >= 1, { what: 'webhook' });
    await waitFor(() => slack.requests.some((r) => slackText(r).includes('AI Platform DOWN: anthropic')), {
      what: 'slack',
    });
    const trigger = pdEvents()[0];
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      payload: { summary: '🚨 AI Platform DOWN: anthropic', severity: 'critical', source: 'hishamos' },
    });
    const dedup = trigger.dedup_key as string;
    expect(dedup).toMatch(/^hishamos:[0-9a-f-]{36}:anthropic$/);
    const fired = json(hook.requests[0]);
    expect(fired).toMatchObject({
      type: 'alert.fired',
      alert: { message: 'Provider anthropic is down: HTTP 529', severity: 'error' },
    });
    const ts = hook.requests[0].headers[TIMESTAMP_HEADER] as string;
    const sig = createHmac('sha256', 'whsec-first-0123456789').update(`${ts}.${hook.requests[0].body}`).digest('hex');
    expect(hook.requests[0].headers[SIGNATURE_HEADER]).toBe(`v1=${sig}`);

    // Still down: inside the cooldown, nothing more is sent.
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'anthropic', state: CircuitState.OPEN, healthy: false },
      'anthropic',
    );
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'anthropic', state: CircuitState.CLOSED, healthy: true },
      'anthropic',
    );
    await waitFor(() => pd.requests.length >= 2, { what: 'PagerDuty resolve' });
    expect(pdEvents()[1]).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: dedup });
    await waitFor(() => hook.requests.length >= 2, { what: 'webhook resolve' });
    expect(json(hook.requests[1])).toMatchObject({ type: 'alert.resolved', alert: { dedup_key: expect.any(String) } });

    const history = await call<{ data: Json[] }>('GET', '/v1/alerts?rule=platform_down', admin);
    expect(history.body.data.map((a) => a.action)).toEqual(['resolve', 'trigger']);
    expect(history.body.data[1]).toMatchObject({
      entity: 'anthropic',
      dedupKey: dedup,
      resolvedAt: expect.any(String),
    });
    const detail = await call<{ deliveries: Delivery[] }>('GET', `/v1/alerts/${history.body.data[1].id}`, admin);
    expect(detail.body.deliveries.map((d) => [d.channel, d.status, d.attempts])).toEqual([
      ['pagerduty', 'succeeded', 1],
      ['slack', 'succeeded', 1],
    ]);
    expect(pd.requests).toHaveLength(2);
  });

  it('an alert that starts again inside its cooldown is sent when the cooldown ends if it still holds (never zero)', async () => {
    const before = pd.requests.length;
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'anthropic', state: CircuitState.OPEN, healthy: false },
      'anthropic',
    );
    await waitFor(
      async () => {
        const active = await call<{ data: Json[] }>('GET', '/v1/alerts/active', admin);
        return active.body.data.some((a) => a.ruleName === 'platform_down' && a.pending === true);
      },
      { what: 'pending alert' },
    );
    await svc.ticker.tick();
    expect(pd.requests.length).toBe(before);
    // The cooldown ends (the test moves the clock of the state instead of waiting five minutes).
    await svc.ctx.db.query(
      `UPDATE alert_states SET cooldown_until = now() - interval '1 second' WHERE entity = 'anthropic'`,
    );
    expect((await svc.ticker.tick()).pending).toBeGreaterThanOrEqual(1);
    await waitFor(() => pd.requests.length === before + 1, { what: 'deferred trigger' });
    expect(pdEvents()[before]).toMatchObject({ event_action: 'trigger', dedup_key: pdEvents()[0].dedup_key });
    await svc.ticker.tick();
    expect(pd.requests.length).toBe(before + 1);
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'anthropic', state: CircuitState.CLOSED, healthy: true },
      'anthropic',
    );
    await waitFor(() => pd.requests.length === before + 2, { what: 'resolve' });
  });

  it('workflow failures alert and notify the user they concern; budget events notify the user', async () => {
    await svc.publish(
      Topics.WorkflowProgressed,
      {
        runId: 'run-9',
        workflowName: 'release-train',
        kind: WorkflowEventKind.FAILED,
        userId: 'u-42',
        error: 'step deploy failed',
      },
      'run-9',
    );
    await waitFor(() => smtp.mails.length >= 1, { what: 'email' });
    expect(smtp.mails[0].data).toContain('Workflow failed: release-train - step deploy failed');
    expect(smtp.mails[0].to).toEqual(['oncall@hishamos.test']);
    await waitFor(() => slack.requests.some((r) => slackText(r).includes('release-train')), { what: 'slack' });
    await svc.publish(
      Topics.BudgetThresholdCrossed,
      {
        budgetId: 'b-1',
        scope: BudgetScope.USER,
        scopeId: 'u-42',
        period: BudgetPeriod.DAY,
        periodStart: '2025-01-02',
        threshold: BudgetThreshold.HARD,
        spendUsd: '10.50',
        limitUsd: '10.00',
      },
      'u-42',
    );
    await waitFor(
      () =>
        slack.requests.some((r) =>
          slackText(r).includes('Budget hard limit reached: USER u-42 DAY budget, $10.50 spent of $10.00'),
        ),
      {
        what: 'budget alert',
      },
    );
    const mine = await waitFor(
      async () => {
        const r = await call<{ data: Json[]; unreadCount: number }>(
          'GET',
          '/v1/notifications',
          asUser('u-42', ['member']),
        );
        return r.body.data.length === 2 ? r.body : undefined;
      },
      { what: 'notifications' },
    );
    expect(mine.unreadCount).toBe(2);
    expect(mine.data.map((n) => [n.type, n.title])).toEqual([
      ['error', 'Budget hard limit reached'],
      ['error', 'Workflow release-train failed'],
    ]);
    expect(mine.data[1]).toMatchObject({ message: 'step deploy failed', link: '/v1/runs/run-9', isRead: false });
    const other = await call<{ data: Json[] }>('GET', '/v1/notifications', asUser('u-43', ['member']));
    expect(other.body.data).toEqual([]);
    expect((await call('POST', `/v1/notifications/${mine.data[0].id}/read`, asUser('u-43', ['member']))).status).toBe(
      404,
    );
    const read = await call<Json>('POST', `/v1/notifications/${mine.data[0].id}/read`, asUser('u-42', ['member']));
    expect(read.body).toMatchObject({ isRead: true });
    const unread = await call<{ data: Json[]; unreadCount: number }>(
      'GET',
      '/v1/notifications?unread=true',
      asUser('u-42', ['member']),
    );
    expect(unread.body.data).toHaveLength(1);
    expect(unread.body.unreadCount).toBe(1);
    expect((await call<Json>('POST', '/v1/notifications/read-all', asUser('u-42', ['member']))).body).toEqual({
      updated: 1,
    });
    const svcCaller = await call('GET', '/v1/notifications', asService('orchestrator'));
    expect(svcCaller.status).toBe(403);
  });

  it('retries 429 and 5xx with backoff, never a 400, and a failing channel does not hold back the others', async () => {
    pd.respondWith({ status: 429, body: { status: 'throttle event' } }, { status: 502, body: 'bad gateway' });
    const before = pd.requests.length;
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'gemini', state: CircuitState.OPEN, healthy: false },
      'gemini',
    );
    await waitFor(() => pd.requests.length === before + 3, { what: 'three PagerDuty attempts' });
    const alert = await waitFor(async () => {
      const r = await call<{ data: Json[] }>('GET', '/v1/alerts?rule=platform_down&entity=gemini', admin);
      return r.body.data[0];
    });
    const delivered = await waitFor(
      async () => {
        const d = await call<{ data: Delivery[] }>(
          'GET',
          `/v1/deliveries?alertId=${alert.id}&channel=pagerduty`,
          admin,
        );
        return d.body.data[0]?.status === 'succeeded' ? d.body.data[0] : undefined;
      },
      { what: 'pagerduty delivered' },
    );
    expect(delivered.attempts).toBe(3);
    expect(delivered.attemptLog.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', 429],
      ['retry', 502],
      ['succeeded', 202],
    ]);

    const multi = await call<Rule>('POST', '/v1/alert-rules', admin, {
      name: 'gemini_everywhere',
      kind: 'event',
      eventType: 'provider_health',
      condition: 'provider == "gemini-2"',
      severity: 'warning',
      channels: ['pd-bad', 'slack', 'ops-webhook'],
      cooldownMinutes: 0,
      messageTemplate: '{provider} {state}',
    });
    expect(multi.status).toBe(201);
    slack.respondWith({ status: 503 }, { status: 503 }, { status: 503 });
    const hooksBefore = hook.requests.length;
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'gemini-2', state: CircuitState.HALF_OPEN, healthy: true },
      'gemini-2',
    );
    await waitFor(() => hook.requests.length > hooksBefore, { what: 'webhook' });
    const all = await waitFor(
      async () => {
        const a = await call<{ data: Json[] }>('GET', '/v1/alerts?rule=gemini_everywhere', admin);
        if (!a.body.data[0]) return undefined;
        const d = await call<{ deliveries: Delivery[] }>('GET', `/v1/alerts/${a.body.data[0].id}`, admin);
        return d.body.deliveries.every((x) => ['succeeded', 'failed'].includes(x.status))
          ? d.body.deliveries
          : undefined;
      },
      { what: 'all deliveries settled' },
    );
    const byChannel = Object.fromEntries(all.map((d) => [d.channel, d]));
    expect(byChannel['ops-webhook']).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(byChannel['pd-bad']).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 400 });
    expect(byChannel['pd-bad'].lastError).toMatch(/routing_key/);
    expect(byChannel.slack).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 503 });
    expect(byChannel.slack.attemptLog.map((a) => a.outcome)).toEqual(['retry', 'retry', 'failed']);
    const failed = await call<{ data: Delivery[] }>('GET', '/v1/deliveries?status=failed', admin);
    expect(failed.body.data.map((d) => d.channel)).toEqual(expect.arrayContaining(['pd-bad', 'slack']));
  });

  it('receives Alertmanager webhooks (bearer token), firing and resolved, through the same channels', async () => {
    const payload = (status: 'firing' | 'resolved') => ({
      version: '4',
      groupKey: '{}:{alertname="ProviderCircuitOpen"}',
      truncatedAlerts: 0,
      status,
      receiver: 'hishamos-alerting',
      groupLabels: { alertname: 'ProviderCircuitOpen' },
      commonLabels: { alertname: 'ProviderCircuitOpen', severity: 'critical' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      alerts: [
        {
          status,
          labels: {
            alertname: 'ProviderCircuitOpen',
            severity: 'critical',
            provider: 'openai',
            service: 'agent-gateway',
          },
          annotations: { summary: 'Circuit breaker for provider openai is open', description: 'calls fail over' },
          startsAt: '2025-01-02T03:04:05Z',
          endsAt: status === 'resolved' ? '2025-01-02T03:14:05Z' : '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus:9090/graph',
          fingerprint: 'c0ffee0123456789',
        },
      ],
    });
    const hook = (headers: Record<string, string>, body: unknown) =>
      call<Json>('POST', '/v1/alertmanager/webhook', headers, body);
    expect((await hook({}, payload('firing'))).status).toBe(401);
    expect((await hook({ authorization: 'Bearer nope-nope-nope' }, payload('firing'))).status).toBe(401);
    const bad = await hook({ authorization: `Bearer ${AM_TOKEN}` }, { ...payload('firing'), version: '3' });
    expect(bad.status).toBe(400);
    const before = pd.requests.length;
    const fired = await hook({ authorization: `Bearer ${AM_TOKEN}` }, payload('firing'));
    expect(fired.status).toBe(200);
    expect(fired.body).toMatchObject({ status: 'ok', alerts: 1, notified: 1 });
    await waitFor(() => pd.requests.length === before + 1, { what: 'PagerDuty trigger from Alertmanager' });
    const trigger = pdEvents()[before];
    expect(trigger).toMatchObject({
      event_action: 'trigger',
      payload: { summary: '🚨 ProviderCircuitOpen: Circuit breaker for provider openai is open', severity: 'critical' },
    });
    // Alertmanager repeats the firing alert: no second page.
    expect((await hook({ authorization: `Bearer ${AM_TOKEN}` }, payload('firing'))).body).toMatchObject({
      notified: 0,
    });
    const viaService = await hook(asService('agent-gateway'), payload('resolved'));
    expect(viaService.body).toMatchObject({ resolved: 1 });
    await waitFor(() => pd.requests.length === before + 2, { what: 'PagerDuty resolve from Alertmanager' });
    expect(pdEvents()[before + 1]).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'resolve',
      dedup_key: trigger.dedup_key,
    });
    const history = await call<{ data: Json[] }>('GET', '/v1/alerts?rule=prometheus_critical', admin);
    expect(history.body.data.map((a) => [a.action, a.source, a.entity])).toEqual([
      ['resolve', 'alertmanager', 'c0ffee0123456789'],
      ['trigger', 'alertmanager', 'c0ffee0123456789'],
    ]);
  });

  it('metric rules: low average quality fires over its window and resolves when it recovers', async () => {
    const base = slack.requests.length;
    for (let i = 0; i < 5; i++)
      await svc.publish(Topics.QualityScored, { executionId: `e-${i}`, agent: 'qa', total: 3 }, `e-${i}`);
    await waitFor(() => slack.requests.slice(base).some((r) => slackText(r) === '📉 Low quality scores: 3.0/10'), {
      what: 'low quality alert',
    });
    for (let i = 0; i < 20; i++)
      await svc.publish(Topics.QualityScored, { executionId: `g-${i}`, agent: 'qa', total: 9 }, `g-${i}`);
    await waitFor(
      () => slack.requests.slice(base).some((r) => slackText(r) === 'Resolved: 📉 Low quality scores: 3.0/10'),
      {
        what: 'low quality resolved',
      },
    );
    // An out-of-range score is bad input: dead-lettered, not counted.
    await svc.publish(Topics.QualityScored, { executionId: 'bad', agent: 'qa', total: 42 }, 'bad');
    const samples = await svc.ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM metric_samples s JOIN alert_rules r ON r.id = s.rule_id WHERE r.name = 'low_quality'`,
    );
    expect(samples[0].n).toBe(25);
  });

  it('takes platform signals from services (DLQ) on the internal API', async () => {
    const base = slack.requests.length;
    expect((await call('POST', '/internal/v1/signals', admin, { type: 'dlq', fields: { topic: 't' } })).status).toBe(
      403,
    );
    const bad = await call<{ error: Json }>('POST', '/internal/v1/signals', asService('orchestrator'), {
      type: 'dlq',
      fields: {},
    });
    expect(bad.body.error).toMatchObject({ field: 'fields.topic' });
    const ok = await call('POST', '/internal/v1/signals', asService('orchestrator'), {
      type: 'dlq',
      fields: { topic: 'hishamos.tasks.requested.v1', reason: 'payload is not a valid TaskRequested', count: 2 },
    });
    expect(ok.status).toBe(202);
    await waitFor(
      () =>
        slack.requests
          .slice(base)
          .some(
            (r) =>
              slackText(r) ===
              '📬 DLQ receiving messages: orchestrator moved a record from hishamos.tasks.requested.v1 to hishamos.tasks.requested.v1.dlq: payload is not a valid TaskRequested',
          ),
      { what: 'DLQ alert' },
    );
  });

  it('drops a cached channel credential when its secret rotates', async () => {
    const readsBefore = secrets.reads.filter((p) => p === 'webhooks/ops').length;
    secretValues.set('webhooks/ops', 'whsec-rotated-9876543210');
    await svc.publish(Topics.SecretRotated, { path: 'webhooks/ops', version: 2, rotatedBy: 'u-admin' }, 'webhooks/ops');
    const hooksBefore = hook.requests.length;
    // Wait until the rotation was consumed (the cache is dropped), then fire the webhook rule again.
    await waitFor(
      async () => {
        const rows = await svc.ctx.db.query(
          `SELECT 1 FROM processed_events WHERE consumer LIKE '%hishamos.alerting.secret-cache.%'`,
        );
        return rows.length > 0;
      },
      { what: 'rotation consumed' },
    );
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'gemini-2', state: CircuitState.HALF_OPEN, healthy: true },
      'gemini-2',
    );
    await waitFor(() => hook.requests.length > hooksBefore, { what: 'webhook after rotation' });
    const r = hook.requests[hook.requests.length - 1];
    const sig = createHmac('sha256', 'whsec-rotated-9876543210')
      .update(`${r.headers[TIMESTAMP_HEADER]}.${r.body}`)
      .digest('hex');
    expect(r.headers[SIGNATURE_HEADER]).toBe(`v1=${sig}`);
    expect(secrets.reads.filter((p) => p === 'webhooks/ops').length).toBe(readsBefore + 1);
  });

  it('deleting or disabling a rule resolves its open alerts', async () => {
    const hooksBefore = hook.requests.length;
    await svc.publish(
      Topics.ProviderHealth,
      { provider: 'mistral', state: CircuitState.OPEN, healthy: false },
      'mistral',
    );
    await waitFor(() => hook.requests.slice(hooksBefore).some((r) => json(r).type === 'alert.fired'), {
      what: 'fired',
    });
    expect((await call('DELETE', `/v1/alert-rules/${rule.id}`, admin)).status).toBe(204);
    await waitFor(() => hook.requests.slice(hooksBefore).some((r) => json(r).type === 'alert.resolved'), {
      what: 'resolved',
    });
    expect((await call('GET', `/v1/alert-rules/${rule.id}`, admin)).status).toBe(404);
  });

  it('keeps its rules and seeds nothing twice across a restart; a deleted default stays deleted', async () => {
    const highCost = (await rules()).find((r) => r.name === 'high_cost')!;
    expect((await call('DELETE', `/v1/alert-rules/${highCost.id}`, admin)).status).toBe(204);
    const count = (await rules()).length;
    await svc.stop();
    await start();
    const after = await rules();
    expect(after.length).toBe(count);
    expect(after.map((r) => r.name)).not.toContain('high_cost');
    expect(new Set(after.map((r) => r.name)).size).toBe(after.length);
    const channels = (await call<{ data: Json[] }>('GET', '/v1/channels', admin)).body.data;
    expect(channels.map((c) => c.name)).toEqual(['email', 'ops-webhook', 'pagerduty', 'pd-bad', 'slack']);
  });
});
