import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topics, type Envelope } from '@hishamos/contracts';
import { loadConfig, Platform, PlatformConfig } from '@hishamos/platform';
import { waitFor } from '@hishamos/testing';
import { usageMeteringDefinition } from '../src';
import { admin, asPerson, gatewayClient, SERVICE_TOKEN, usage } from './fixtures/metering-fixture';

jest.setTimeout(120000);

describe('usage-metering embedded (PGlite, local bus)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-metering-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('migrates, reserves, ingests and answers queries on PGlite', async () => {
    const config = loadConfig(PlatformConfig, { HISHAMOS_DATA_DIR: dataDir, LOG_LEVEL: 'error', SERVICE_TOKEN });
    const platform = new Platform({ config, ports: { 'usage-metering': 0 }, env: { BUDGET_TIME_ZONE: 'Asia/Riyadh' } });
    await platform.start([usageMeteringDefinition()]);
    try {
      const [svc] = platform.services;
      expect(
        (
          await asPerson(svc.url, admin, 'PUT', '/v1/budgets', {
            scope: 'user',
            scopeId: 'u-e',
            period: 'day',
            softUsd: 0.01,
            hardUsd: 0.02,
          })
        ).status,
      ).toBe(200);
      const gw = gatewayClient(svc.url);
      const body = {
        requestId: 'e-1',
        userId: 'u-e',
        provider: 'openai',
        model: 'gpt-4o',
        inputTokens: 1000,
        maxOutputTokens: 500,
      };
      const r = await gw.request<{ reservationId: string; amountUsd: string }>('POST', '/internal/v1/reservations', {
        body,
      });
      expect(r.amountUsd).toBe('0.0075');
      const priced: Envelope<typeof Topics.UsagePriced>[] = [];
      await platform.eventBus.subscribe('embedded-test-reader', Topics.UsagePriced, svc.context.db, async (e) => {
        priced.push(e);
      });
      await platform.eventBus.publish(
        Topics.UsageRecorded,
        usage({ requestId: 'e-1', userId: 'u-e', reservationId: r.reservationId }),
        { key: 'u-e' },
      );
      await waitFor(
        async () =>
          (await gw.request<{ day: { spentUsd: string; reservedUsd: string } }>('GET', '/internal/v1/spend/users/u-e'))
            .day.spentUsd === '0.0075',
        { what: 'settled usage' },
      );
      expect(
        (await gw.request<{ day: { reservedUsd: string } }>('GET', '/internal/v1/spend/users/u-e')).day.reservedUsd,
      ).toBe('0.00');
      await waitFor(() => priced.length > 0, { what: 'UsagePriced on the local bus' });
      expect(priced).toHaveLength(1);
      expect(priced[0].key).toBe('u-e');
      expect(priced[0].payload).toMatchObject({
        requestId: 'e-1',
        costUsd: '0.0075',
        priced: true,
        usageDay: new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Riyadh' }).format(new Date()),
        userSpendDayUsd: '0.0075',
        globalSpendDayUsd: '0.0075',
      });
      await expect(
        gw.request('POST', '/internal/v1/reservations', { body: { ...body, requestId: 'e-2', maxOutputTokens: 1500 } }),
      ).rejects.toMatchObject({ status: 403 });
      const q = await asPerson<{ rows: unknown[] }>(svc.url, admin, 'GET', '/v1/usage?groupBy=user,model');
      expect(q.body.rows).toEqual([
        expect.objectContaining({ user: 'u-e', model: 'gpt-4o', requests: 1, costUsd: '0.0075' }),
      ]);
      const ready = await (await fetch(`${svc.url}/health/ready`)).json();
      expect(ready).toMatchObject({ status: 'ok', checks: { database: { kind: 'pglite' } } });
    } finally {
      await platform.stop();
    }
  });
});
