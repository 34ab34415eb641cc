import { create } from '@bufbuild/protobuf';
import { Topics, UsageRecordedSchema, type Envelope } from '@hishamos/contracts';
import type { Outbox } from '@hishamos/messaging';
import type { ServiceContext } from '@hishamos/platform';
import { Registry } from 'prom-client';
import { ManualClock } from '../../adapters/clock';
import type { MeteringConfig } from '../../config/metering-config';
import { LocalCalendar } from '../../domain/periods';
import { InvalidUsageRecordError } from '../../domain/usage-record';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import type { ReservationRepository } from '../../repositories/reservation.repository';
import type { CounterDelta, SpendRepository } from '../../repositories/spend.repository';
import type { UsageRepository, UsageRow } from '../../repositories/usage.repository';
import { IngestUsageCommand, IngestUsageUseCase } from './ingest-usage.usecase';

function event(id: string, over: Record<string, unknown>): Envelope<typeof Topics.UsageRecorded> {
  return {
    topic: Topics.UsageRecorded,
    key: 'k',
    headers: {},
    attributes: { id, source: 'gw', type: 't', specversion: '1.0', time: '', contentType: 'application/protobuf' },
    payload: create(UsageRecordedSchema, {
      userId: 'u-1',
      provider: 'openai',
      model: 'gpt-4o',
      usage: { inputTokens: 1000n, outputTokens: 500n },
      ...over,
    }),
  };
}
const at = (iso: string) => ({ seconds: BigInt(Date.parse(iso) / 1000), nanos: 0 });

describe('IngestUsageUseCase', () => {
  const config = { calendar: new LocalCalendar('Asia/Tokyo'), timeZone: 'Asia/Tokyo' } as unknown as MeteringConfig;

  function setup(costs: Record<string, string | null>) {
    const insertBatch = jest.fn(async (_tx: unknown, rows: UsageRow[]) =>
      rows.filter((r) => r.requestId in costs).map((r) => ({ request_id: r.requestId, cost: costs[r.requestId] })),
    );
    const settle = jest.fn(async () => ({
      settled: 1,
      releases: [
        { scope: 'user' as const, scope_id: 'u-1', period: 'day' as const, period_start: '2025-03-15', amount: '0.02' },
      ],
    }));
    const applyDeltas = jest.fn(async (_tx: unknown, _d: CounterDelta[]) => []);
    const lockForIngestion = jest.fn(async () => undefined);
    const useCase = new IngestUsageUseCase(
      new ManualClock('2025-03-15T12:00:00Z'),
      config,
      { insertBatch } as unknown as UsageRepository,
      { settle } as unknown as ReservationRepository,
      { applyDeltas, lockForIngestion } as unknown as SpendRepository,
      new MeteringMetrics({ metrics: { registry: new Registry() } } as unknown as ServiceContext),
    );
    const run = (events: Envelope<typeof Topics.UsageRecorded>[]) =>
      useCase.execute(
        new IngestUsageCommand(events, { query: jest.fn(), run: jest.fn() }, { add: jest.fn() } as unknown as Outbox),
      );
    return { run, insertBatch, settle, applyDeltas };
  }

  it('files each record in its own day in the zone, adds spend per scope and period, and releases the reservation', async () => {
    const s = setup({ a: '0.0125', b: '0.0075', c: null });
    const reservation = '6f1c1a52-6b1e-4b8e-9f57-2f8d4c1a0b11';
    const result = await s.run([
      event('e1', {
        requestId: 'a',
        teamId: 't-1',
        occurredAt: at('2025-03-14T15:30:00Z'),
        reservationId: reservation,
      }), // 00:30 on the 15th in Tokyo
      event('e2', { requestId: 'b', occurredAt: at('2025-03-14T14:30:00Z') }), // 23:30 on the 14th
      event('e3', { requestId: 'a', occurredAt: at('2025-03-14T15:30:00Z') }), // the same request again: once
      event('e4', { requestId: 'c', model: 'mystery', occurredAt: at('2025-03-14T15:31:00Z') }),
    ]);
    expect(result).toEqual({ received: 4, inserted: 3, settled: 1, budgetEvents: 0 });
    expect(s.insertBatch.mock.calls[0][1].map((r) => [r.requestId, r.usageDay])).toEqual([
      ['a', '2025-03-15'],
      ['b', '2025-03-14'],
      ['c', '2025-03-15'],
    ]);
    expect(s.settle).toHaveBeenCalledWith(
      expect.anything(),
      [{ reservationId: reservation, cost: '0.0125' }],
      expect.any(Date),
    );
    const deltas = s.applyDeltas.mock.calls[0][1];
    const find = (scope: string, id: string, period: string, start: string) =>
      deltas.find((d) => d.scope === scope && d.scopeId === id && d.period === period && d.periodStart === start);
    expect(find('user', 'u-1', 'day', '2025-03-15')).toMatchObject({ spent: '0.0125', reserved: '-0.02', requests: 2 });
    expect(find('user', 'u-1', 'day', '2025-03-14')).toMatchObject({ spent: '0.0075', reserved: '0', requests: 1 });
    expect(find('team', 't-1', 'day', '2025-03-15')).toMatchObject({ spent: '0.0125', requests: 1 });
    expect(deltas.filter((d) => d.period !== 'day')).toEqual([]); // the statement derives week and month
    expect(find('global', '', 'day', '2025-03-15')).toMatchObject({ spent: '0.0125', requests: 2 });
  });

  it('rejects the batch on a bad record, before writing anything', async () => {
    const s = setup({});
    await expect(
      s.run([event('e1', { requestId: 'a' }), event('e2', { requestId: 'b', currency: 'EUR' })]),
    ).rejects.toBeInstanceOf(InvalidUsageRecordError);
    expect(s.insertBatch).not.toHaveBeenCalled();
  });
});
