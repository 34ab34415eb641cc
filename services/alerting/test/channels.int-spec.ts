import { createHmac } from 'node:crypto';
import { EmailChannel } from '../src/channels/email.channel';
import type { ChannelMessage, DeliveryOutcome } from '../src/channels/notification-channel';
import { PagerDutyChannel } from '../src/channels/pagerduty.channel';
import { SlackChannel } from '../src/channels/slack.channel';
import { SmsChannel } from '../src/channels/sms.channel';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookChannel } from '../src/channels/webhook.channel';
import { checkPagerDuty, checkSlack, checkTwilio, startHttpPeer, startSmtp, type HttpPeer } from './support/peers';

const message = (over: Partial<ChannelMessage> = {}): ChannelMessage => ({
  deliveryId: '7f0c2f0e-1d0b-4e43-9c55-8a9c7a0b1c01',
  alertId: '2b1a4e8c-9d3f-4c1e-8f7a-6b5d4c3b2a10',
  action: 'trigger',
  ruleId: '5d9c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
  ruleName: 'platform_down',
  entity: 'openai',
  severity: 'critical',
  title: 'platform_down (openai)',
  text: '🚨 AI Platform DOWN: openai',
  dedupKey: 'hishamos:5d9c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d:openai',
  source: 'event',
  fields: { provider: 'openai', state: 'OPEN' },
  createdAt: new Date('2025-01-02T03:04:05Z'),
  ...over,
});

const signal = () => AbortSignal.timeout(5000);
const ROUTING_KEY = 'R0UT1NGK3Y0123456789abcdefABCDEF';

describe('channels against real peers on loopback', () => {
  const peers: HttpPeer[] = [];
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });
  const peer = async (...args: Parameters<typeof startHttpPeer>) => {
    const p = await startHttpPeer(...args);
    peers.push(p);
    return p;
  };

  it('email: nodemailer delivers to an SMTP server, authenticating with the secret', async () => {
    const smtp = await startSmtp({ alerts: 'smtp-pass-123' });
    try {
      const email = new EmailChannel(5000);
      const config = email.validateConfig({
        host: '127.0.0.1',
        port: smtp.port,
        tls: 'none',
        from: 'alerts@hishamos.test',
        to: ['oncall@hishamos.test', 'sre@hishamos.test'],
      });
      const target = { name: 'email', type: 'email' as const, config };
      const ok = await email.send(message(), target, '{"user":"alerts","pass":"smtp-pass-123"}', signal());
      expect(ok).toMatchObject({ ok: true });
      expect(smtp.mails).toHaveLength(1);
      const mail = smtp.mails[0];
      expect(mail.user).toBe('alerts');
      expect(mail.from).toBe('alerts@hishamos.test');
      expect(mail.to).toEqual(['oncall@hishamos.test', 'sre@hishamos.test']);
      expect(mail.data).toMatch(/Subject: .*CRITICAL: platform_down \(openai\)/);
      expect(mail.data).toMatch(/X-HishamOS-Dedup-Key: hishamos:5d9c1b2a/i);
      expect(mail.data).toMatch(/provider: openai/);
      const bad = await email.send(message(), target, '{"user":"alerts","pass":"wrong"}', signal());
      expect(bad).toMatchObject({ ok: false, retryable: false, credentialRejected: true });
      const unshaped = await email.send(message(), target, 'just-a-password', signal());
      expect(unshaped).toMatchObject({ ok: false, retryable: false });
    } finally {
      await smtp.close();
    }
  });

  it('email: an unreachable server is worth retrying', async () => {
    const email = new EmailChannel(2000);
    const config = email.validateConfig({
      host: '127.0.0.1',
      port: 1,
      tls: 'none',
      from: 'a@b.test',
      to: ['c@d.test'],
    });
    const out = await email.send(message(), { name: 'email', type: 'email', config }, undefined, signal());
    expect(out).toMatchObject({ ok: false, retryable: true });
  });

  it("slack: posts the seed's attachment payload with the severity's colour to the webhook URL", async () => {
    const slack = await peer({ status: 200, body: 'ok' }, checkSlack);
    const channel = new SlackChannel();
    const config = channel.validateConfig({});
    const target = { name: 'slack', type: 'slack' as const, config };
    const url = `${slack.url}/services/T000/B000/XXXX`;
    expect(await channel.send(message(), target, url, signal())).toMatchObject({ ok: true, statusCode: 200 });
    expect(await channel.send(message({ severity: 'warning' }), target, url, signal())).toMatchObject({ ok: true });
    expect(await channel.send(message({ action: 'resolve' }), target, url, signal())).toMatchObject({ ok: true });
    expect(slack.requests.map((r) => r.path)).toEqual(Array(3).fill('/services/T000/B000/XXXX'));
    const [critical, warning, resolved] = slack.requests.map(
      (r) => (JSON.parse(r.body) as { attachments: Record<string, unknown>[] }).attachments[0],
    );
    expect(critical).toEqual({
      color: '#b71c1c',
      title: 'CRITICAL Alert',
      text: '🚨 AI Platform DOWN: openai',
      fields: [
        { title: 'provider', value: 'openai', short: true },
        { title: 'state', value: 'OPEN', short: true },
      ],
      footer: 'HishamOS',
      ts: 1735787045,
    });
    expect(warning.color).toBe('#ff9800');
    expect(resolved).toMatchObject({ color: '#2eb886', title: 'RESOLVED CRITICAL Alert' });
    const notUrl = await channel.send(message(), target, 'xoxb-not-a-url', signal());
    expect(notUrl).toMatchObject({ ok: false, retryable: false });
    expect(JSON.stringify(notUrl)).not.toContain('xoxb');
  });

  it('pagerduty: trigger and resolve with the documented shape and one dedup_key', async () => {
    const pd = await peer({ status: 202, body: { status: 'success', message: 'Event processed' } }, checkPagerDuty);
    const channel = new PagerDutyChannel(`${pd.url}/v2/enqueue`);
    const target = {
      name: 'pd',
      type: 'pagerduty' as const,
      config: channel.validateConfig({ source: 'hishamos-test' }),
    };
    expect(await channel.send(message(), target, ROUTING_KEY, signal())).toMatchObject({ ok: true, statusCode: 202 });
    expect(await channel.send(message({ action: 'resolve' }), target, ROUTING_KEY, signal())).toMatchObject({
      ok: true,
    });
    const [trigger, resolve] = pd.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: message().dedupKey,
      payload: {
        summary: '🚨 AI Platform DOWN: openai',
        severity: 'critical',
        source: 'hishamos-test',
        component: 'platform_down',
        group: 'openai',
      },
    });
    expect(resolve).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: message().dedupKey });
  });

  it('pagerduty: 429 and 5xx are worth retrying (with Retry-After), 400 never', async () => {
    const pd = await peer({ status: 202, body: { status: 'success' } }, checkPagerDuty);
    const channel = new PagerDutyChannel(`${pd.url}/v2/enqueue`);
    const target = { name: 'pd', type: 'pagerduty' as const, config: {} };
    pd.respondWith(
      {
        status: 429,
        body: { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' },
        headers: { 'retry-after': '2' },
      },
      { status: 503, body: 'unavailable' },
    );
    const throttled = (await channel.send(message(), target, ROUTING_KEY, signal())) as Extract<
      DeliveryOutcome,
      { ok: false }
    >;
    expect(throttled).toMatchObject({ ok: false, retryable: true, statusCode: 429, retryAfterMs: 2000 });
    expect(throttled.error).toMatch(/arriving too quickly/);
    expect(await channel.send(message(), target, ROUTING_KEY, signal())).toMatchObject({
      ok: false,
      retryable: true,
      statusCode: 503,
    });
    const invalid = (await channel.send(message(), target, 'short-key', signal())) as Extract<
      DeliveryOutcome,
      { ok: false }
    >;
    expect(invalid).toMatchObject({ ok: false, retryable: false, statusCode: 400 });
    expect(invalid.error).toMatch(/routing_key/);
    // The peer is gone: a network error is worth retrying.
    const gone = new PagerDutyChannel('http://127.0.0.1:1/v2/enqueue');
    expect(await gone.send(message(), target, ROUTING_KEY, signal())).toMatchObject({ ok: false, retryable: true });
  });

  it('webhook: JSON body signed with HMAC-SHA256 over the timestamp and body', async () => {
    const hook = await peer({ status: 204 });
    const secret = 'whsec-test-0123456789';
    const channel = new WebhookChannel(() => 1_700_000_000_000);
    const target = {
      name: 'hook',
      type: 'webhook' as const,
      config: channel.validateConfig({ url: `${hook.url}/hooks/alerts` }),
    };
    expect(await channel.send(message(), target, secret, signal())).toMatchObject({ ok: true, statusCode: 204 });
    const r = hook.requests[0];
    expect(r.path).toBe('/hooks/alerts');
    expect(r.headers[TIMESTAMP_HEADER]).toBe('1700000000');
    const expected = createHmac('sha256', secret).update(`1700000000.${r.body}`).digest('hex');
    expect(r.headers[SIGNATURE_HEADER]).toBe(`v1=${expected}`);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: message().deliveryId,
      type: 'alert.fired',
      alert: { rule_name: 'platform_down', entity: 'openai', severity: 'critical', dedup_key: message().dedupKey },
    });
    hook.respondWith({ status: 410 });
    expect(await channel.send(message(), target, secret, signal())).toMatchObject({
      ok: false,
      retryable: false,
      statusCode: 410,
    });
    expect(() => channel.validateConfig({ url: 'not a url' })).toThrow(/config.url/);
    expect(() => channel.validateConfig({ url: 'http://x', secret: 'inline' })).toThrow(/config.secret/);
  });

  it('sms: Twilio-compatible form-encoded POST with basic auth, one per recipient', async () => {
    const sid = 'AC0123456789abcdef';
    const token = 'twilio-auth-token-1';
    const twilio = await peer({ status: 201, body: { sid: 'SM1', status: 'queued' } }, checkTwilio(sid, token));
    const channel = new SmsChannel(twilio.url);
    const config = channel.validateConfig({
      accountSid: sid,
      from: '+15550000000',
      to: ['+15551111111', '+15552222222'],
    });
    const target = { name: 'sms', type: 'sms' as const, config };
    expect(await channel.send(message(), target, token, signal())).toMatchObject({ ok: true, statusCode: 201 });
    expect(twilio.requests).toHaveLength(2);
    const forms = twilio.requests.map((r) => Object.fromEntries(new URLSearchParams(r.body)));
    expect(forms).toEqual([
      { To: '+15551111111', From: '+15550000000', Body: '[CRITICAL] 🚨 AI Platform DOWN: openai' },
      { To: '+15552222222', From: '+15550000000', Body: '[CRITICAL] 🚨 AI Platform DOWN: openai' },
    ]);
    // Credentials as JSON in the secret, no SID in the config.
    const jsonTarget = { ...target, config: channel.validateConfig({ from: '+15550000000', to: ['+15551111111'] }) };
    expect(
      await channel.send(message(), jsonTarget, JSON.stringify({ accountSid: sid, authToken: token }), signal()),
    ).toMatchObject({ ok: true });
    const refused = await channel.send(message(), target, 'wrong-token', signal());
    expect(refused).toMatchObject({ ok: false, retryable: false, statusCode: 400 });
    expect(JSON.stringify(refused)).not.toContain('wrong-token');
    expect(() => channel.validateConfig({ from: '555', to: ['+15551111111'] })).toThrow(/config.from/);
  });
});
