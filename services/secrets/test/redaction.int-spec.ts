import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { startTracing } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import {
  admin,
  CapturedEvents,
  CapturedLogs,
  SERVICE_TOKEN,
  startSecrets,
  type StartedSecrets,
} from './fixtures/secrets-service';

jest.setTimeout(180000);

/**
 * Secret values never reach logs, events, traces, metrics, error bodies or the database in clear:
 * every value this test hands the service is looked for in everything it captured.
 */
describe('redaction: secret values appear in no log, event, span, metric or error', () => {
  let pg: { url: string; drop: () => Promise<void> };
  let s: StartedSecrets;
  const logs = new CapturedLogs();
  const events = new CapturedEvents();
  const spans = new InMemorySpanExporter();
  const keyMaterial = randomBytes(32).toString('base64');
  /** Every secret value used below. */
  const used: string[] = [];
  const secret = () => {
    const v = `topsecret-${randomBytes(10).toString('hex')}`;
    used.push(v);
    return v;
  };
  const errorBodies: string[] = [];

  beforeAll(async () => {
    await startTracing('secrets', { spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
    const brokers = await requireKafka();
    pg = await requirePostgresDatabase('secrets_redact');
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    await c.query('CREATE SCHEMA secrets');
    await c.end();
    s = await startSecrets({
      mode: 'distributed',
      databaseUrl: pg.url,
      brokers,
      env: { ENCRYPTION_KEY: `k1:${keyMaterial}`, SECRETS_ROTATION_GRACE_SECONDS: '3600' },
      logs,
      logLevel: 'debug',
    });
    await events.attach(s);
  });
  afterAll(async () => {
    await s?.stop();
    await pg?.drop();
  });

  it('handles values through every operation and leaks none of them', async () => {
    const gw = s.as('agent-gateway');
    const record = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      if (r.status >= 400) errorBodies.push(JSON.stringify(r.body));
      return r;
    };
    // writes, reads, versions, rotation, check-and-set conflicts
    const v1 = secret();
    await gw.call('PUT', '/internal/v1/secrets', { body: { path: 'ai/platforms/openai', value: v1 } });
    expect(
      (await gw.call<{ value: string }>('GET', '/internal/v1/secrets?path=ai/platforms/openai')).value === v1,
    ).toBe(true);
    await record(
      gw.attempt('PUT', '/internal/v1/secrets', { body: { path: 'ai/platforms/openai', value: secret(), cas: 0 } }),
    );
    await gw.call('POST', '/internal/v1/secrets/rotate', { body: { path: 'ai/platforms/openai', value: secret() } });
    await gw.call('GET', '/internal/v1/secrets?path=ai/platforms/openai&version=1');
    await gw.call('GET', '/internal/v1/secrets/versions?path=ai/platforms/openai');
    // the seed's helpers
    await gw.call('PUT', '/internal/v1/platform-keys/anthropic', { body: { apiKey: secret() } });
    await gw.call('GET', '/internal/v1/platform-keys/anthropic');
    await gw.call('POST', '/internal/v1/platform-keys/anthropic/rotate', { body: { apiKey: secret() } });
    // an administrator through the gateway
    await gw.call('PUT', '/internal/v1/secrets', {
      body: { path: 'ai/platforms/gemini', value: secret() },
      onBehalfOf: admin,
    });
    await record(gw.attempt('GET', '/internal/v1/secrets?path=ai/platforms/gemini', { onBehalfOf: admin }));
    // denied, invalid and failing requests carrying values
    await record(
      s.as('alerting').attempt('PUT', '/internal/v1/secrets', { body: { path: 'ai/platforms/x', value: secret() } }),
    );
    await record(s.as('alerting').attempt('GET', '/internal/v1/secrets?path=ai/platforms/openai'));
    await record(gw.attempt('PUT', '/internal/v1/secrets', { body: { path: '../bad', value: secret() } }));
    await record(
      gw.attempt('PUT', '/internal/v1/secrets', { body: { path: 'providers/big', value: secret().repeat(4000) } }),
    );
    await record(
      gw.attempt('PUT', '/internal/v1/secrets', { body: { path: 'providers/x', value: 42, extra: secret() } }),
    );
    await record(
      gw.attempt('PUT', '/internal/v1/secrets', {
        body: { path: 'providers/x', value: secret(), metadata: { a: { b: secret() } } },
      }),
    );
    await record(
      gw.attempt('POST', '/internal/v1/secrets/rotate', { body: { path: 'providers/none', value: secret() } }),
    );
    const malformed = await fetch(`${s.url}/internal/v1/secrets`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${(await import('@hishamos/platform')).serviceCredential(SERVICE_TOKEN, 'agent-gateway')}`,
        'content-type': 'application/json',
      },
      body: `{"path":"providers/x","value":"${secret()}"`,
    });
    errorBodies.push(await malformed.text());
    // a tampered ciphertext: the integrity error names path and version only
    const tampered = secret();
    await gw.call('PUT', '/internal/v1/secrets', { body: { path: 'providers/tampered', value: tampered } });
    await s.service.context.db.query(
      `UPDATE secret_versions SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) WHERE path = 'providers/tampered'`,
    );
    const integrity = await record(gw.attempt('GET', '/internal/v1/secrets?path=providers/tampered'));
    expect(integrity).toMatchObject({ status: 500, body: { error: { code: 'integrity_error' } } });

    // wait for every audit record's event
    const auditCount = Number(
      (await s.service.context.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log`))[0].n,
    );
    await waitFor(() => events.audit.length >= auditCount && events.rotated.length >= 2, {
      what: 'all audit and rotation events',
      timeoutMs: 60000,
    });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const ready = await (await fetch(`${s.url}/health/ready`)).text();
    const finished = spans.getFinishedSpans();
    expect(finished.filter((sp) => sp.name.startsWith('secrets.')).length).toBeGreaterThan(10);
    const spanText = JSON.stringify(
      finished.map((sp) => ({ name: sp.name, attributes: sp.attributes, events: sp.events, status: sp.status })),
    );
    const db = s.service.context.db;
    const tables = JSON.stringify([
      await db.query(`SELECT * FROM audit_log`),
      await db.query(`SELECT * FROM rotations`),
      await db.query(`SELECT path, custom_metadata FROM secrets`),
    ]);
    const ciphertexts = await db.query<{ ciphertext: Buffer | null }>(`SELECT ciphertext FROM secret_versions`);

    const places: Record<string, string> = {
      logs: logs.text,
      events: events.text(),
      spans: spanText,
      metrics,
      readiness: ready,
      errors: errorBodies.join('\n'),
      database: tables,
    };
    expect(logs.lines.length).toBeGreaterThan(5);
    expect(events.audit.length).toBeGreaterThan(10);
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(places)) {
      for (const [i, v] of used.entries()) if (text.includes(v)) leaks.push(`${where}: value #${i}`);
      if (text.includes(keyMaterial)) leaks.push(`${where}: ENCRYPTION_KEY`);
      if (text.includes(SERVICE_TOKEN)) leaks.push(`${where}: SERVICE_TOKEN`);
    }
    for (const row of ciphertexts)
      for (const [i, v] of used.entries())
        if (row.ciphertext?.includes(Buffer.from(v))) leaks.push(`ciphertext: value #${i}`);
    expect(leaks).toEqual([]);
    // nothing even tried to log a value: the logger's last-resort masking never had to act
    expect(logs.text).not.toContain('[REDACTED]');
  });
});
