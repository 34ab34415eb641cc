import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_NAMES, SERVICES, Topics } from '@hishamos/contracts';
import { provisionServiceRole } from '@hishamos/persistence';
import { loadConfig, Platform, PlatformConfig } from '@hishamos/platform';
import { requireKafka, requirePostgresDatabase, waitFor } from '@hishamos/testing';
import { definition as feedbackMl } from '@hishamos/feedback-ml';
import { ALL_SERVICES } from '../src/services';

jest.setTimeout(300000);
const zeroPorts = Object.fromEntries(SERVICE_NAMES.map((n) => [n, 0]));

describe('embedded platform (all six services in one process, PGlite, local bus)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots every service ready, consumes events once, and finds its data again after a restart', async () => {
    const migrationsApplied: Record<string, number> = {};
    const config = loadConfig(PlatformConfig, { HISHAMOS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    let platform = new Platform({ config, ports: zeroPorts });
    await platform.start(ALL_SERVICES);
    try {
      expect(platform.services.map((s) => s.definition.name).sort()).toEqual([...SERVICE_NAMES].sort());
      for (const s of platform.services) {
        const live = await fetch(`${s.url}/health/live`);
        expect(live.status).toBe(200);
        const ready = await fetch(`${s.url}/health/ready`);
        const body = (await ready.json()) as {
          status: string;
          checks: { database: { kind: string }; bus: { transport: string } };
        };
        expect(ready.status).toBe(200);
        expect(body).toMatchObject({
          status: 'ok',
          checks: { database: { ok: true, kind: 'pglite' }, bus: { ok: true, transport: 'local' } },
        });
        const metrics = await (await fetch(`${s.url}/metrics`)).text();
        expect(metrics).toContain(`hishamos_service_up{service="${s.definition.name}"} 1`);
        expect(metrics).toContain('process_cpu_user_seconds_total');
      }
      // An event published through the gateway's outbox reaches feedback-ml, which stores it exactly once.
      const gw = platform.services.find((s) => s.definition.name === 'agent-gateway')!.context;
      for (const id of ['ev-1', 'ev-1-again'])
        await gw.db.transaction((tx) =>
          gw.outbox.add(
            tx,
            Topics.ExecutionCompleted,
            {
              executionId: 'exec-1',
              userId: 'u1',
              agent: 'coding',
              command: 'write_code',
              status: 1,
              output: '## Summary\nok',
            },
            { key: 'exec-1', id },
          ),
        );
      const fb = platform.services.find((s) => s.definition.name === 'feedback-ml')!.context;
      await waitFor(
        async () => (await fb.db.query(`SELECT 1 FROM quality_scores WHERE execution_id = 'exec-1'`)).length === 1,
        { what: 'scored execution' },
      );
      expect(await fb.db.query(`SELECT 1 FROM executions WHERE execution_id = 'exec-1'`)).toHaveLength(1);
      for (const s of platform.services)
        migrationsApplied[s.definition.name] = (
          await s.context.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations`)
        )[0].n;
    } finally {
      await platform.stop();
    }
    // A second start finds the same data and re-applies no migration.
    platform = new Platform({ config, ports: zeroPorts });
    await platform.start(ALL_SERVICES);
    try {
      const fb = platform.services.find((s) => s.definition.name === 'feedback-ml')!.context;
      expect(await fb.db.query(`SELECT execution_id FROM executions`)).toEqual([{ execution_id: 'exec-1' }]);
      for (const s of platform.services)
        expect((await s.context.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations`))[0].n).toBe(
          migrationsApplied[s.definition.name],
        );
    } finally {
      await platform.stop();
    }
  });
});

describe('distributed service (its own process config, Postgres role, Kafka)', () => {
  let pg: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    pg = await requirePostgresDatabase('dist');
  });
  afterAll(async () => pg?.drop());

  it('runs a service (feedback-ml) on Postgres and Kafka, ready and consuming', async () => {
    const brokers = await requireKafka();
    const url = await provisionServiceRole(pg.url, SERVICES['feedback-ml'].schema, 'fb-pw');
    const config = loadConfig(PlatformConfig, {
      HISHAMOS_MODE: 'distributed',
      DATABASE_URL: url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: `dist${Date.now()}`,
      SERVICE_TOKEN: 'x'.repeat(40),
      LOG_LEVEL: 'warn',
      PORT: '0',
    });
    const platform = new Platform({ config });
    await platform.start([feedbackMl]);
    try {
      const [svc] = platform.services;
      const ready = await fetch(`${svc.url}/health/ready`);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        checks: { database: { ok: true, kind: 'postgres' }, bus: { ok: true, transport: 'kafka' } },
      });
      await platform.eventBus.publish(
        Topics.ExecutionCompleted,
        { executionId: 'dist-exec', userId: 'u9', agent: 'coding', command: 'write_code', status: 1, output: 'ok' },
        { key: 'dist-exec', id: 'dist-exec' },
      );
      await waitFor(
        async () =>
          (await svc.context.db.query(`SELECT 1 FROM executions WHERE execution_id = 'dist-exec'`)).length === 1,
        { what: 'stored execution', timeoutMs: 30000 },
      );
    } finally {
      await platform.stop();
    }
  });
});
