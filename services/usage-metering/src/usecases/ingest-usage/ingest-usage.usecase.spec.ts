import { create, fromBinary } from '@bufbuild/protobuf';
import { Topics, UsagePricedSchema, UsageRecordedSchema, type Envelope } from '@hishamos/contracts';
import type { Outbox } from '@hishamos/messaging';
import type { ServiceContext } from '@hishamos/platform';
import { Registry } from 'prom-client';
import { ManualClock } from '../../adapters/clock';
import type { MeteringConfig } from '../../config/metering-config';
import { LocalCalendar } from '../../domain/periods';
import { InvalidUsageRecordError } from '../../domain/usage-record';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import type { ReservationRepository } from '../../repositories/reservation.repository';
import type { CounterDelta, DaySpend, SpendRepository } from '../../repositories/spend.repository';
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

  function setup(costs: Record<string, string | null>, daySpend: DaySpend[] = [], priceLater: string[] = []) {
    const insertBatch = jest.fn(async (_tx: unknown, rows: UsageRow[]) =>
      rows
        .filter((r) => r.requestId in costs)
        .reverse() // RETURNING order is not the batch order
        .map((r) => ({
          request_id: r.requestId,
          cost: costs[r.requestId],
          price_later: priceLater.includes(r.requestId),
        })),
    );
    const settle = jest.fn(async () => ({
      settled: 1,
      releases: [
        { scope: 'user' as const, scope_id: 'u-1', period: 'day' as const, period_start: '2025-03-15', amount: '0.02' },
      ],
    }));
    const applyDeltas = jest.fn(async (_tx: unknown, _d: CounterDelta[]) => ({ crossed: [], daySpend }));
    const lockForIngestion = jest.fn(async () => undefined);
    const useCase = new IngestUsageUseCase(
      new ManualClock('2025-03-15T12:00:00Z'),
      config,
      { insertBatch } as unknown as UsageRepository,
      { settle } as unknown as ReservationRepository,
      { applyDeltas, lockForIngestion } as unknown as SpendRepository,
      new MeteringMetrics({ metrics: { registry: new Registry() } } as unknown as ServiceContext),
    );
    const addMany = jest.fn(async (..._args: unknown[]) => [] as string[]);
    const addManyEncoded = jest.fn(async (..._args: unknown[]) => [] as string[]);
    const run = (events: Envelope<typeof Topics.UsageRecorded>[]) =>
      useCase.execute(
        new IngestUsageCommand(events, { query: jest.fn(), run: jest.fn() }, {
          add: jest.fn(),
          addMany,
          addManyEncoded,
        } as unknown as Outbox),
      );
    const published = (topic: string) => [
      ...addMany.mock.calls
        .filter((c) => c[1] === topic)
        .flatMap((c) =>
          (c[2] as object[]).map((payload, i) => ({ payload, opts: (c[3] as { key: string; id: string }[])[i] })),
        ),
      // Pre-encoded events (UsagePriced): decoded as a consumer would.
      ...addManyEncoded.mock.calls
        .filter((c) => c[1] === topic)
        .flatMap((c) =>
          (c[2] as { id: string; key: string; value: Uint8Array }[]).map((e) => ({
            payload: fromBinary(UsagePricedSchema, e.value) as object,
            opts: { key: e.key, id: e.id },
          })),
        ),
    ];
    return { run, insertBatch, settle, applyDeltas, addMany, addManyEncoded, published };
  }

  it('files each record in its own day in the zone, adds spend per scope and period, and releases the reservation', async () => {
    const spend = (scope: 'user' | 'global', day: string, usd: string): DaySpend => ({
      scope,
      scope_id: scope === 'user' ? 'u-1' : '',
      day,
      spent_usd: usd,
    });
    const s = setup({ a: '0.0125', b: '0.0075', c: null }, [
      spend('user', '2025-03-15', '0.0125'),
      spend('user', '2025-03-14', '0.0075'),
      spend('global', '2025-03-15', '0.0125'),
      spend('global', '2025-03-14', '0.0075'),
    ]);
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

  it('publishes one UsagePriced per new record, in batch order, with the day spend after each record', async () => {
    const daySpend: DaySpend[] = [
      // The counters after the batch: the user had $1 before it on the 15th, the platform $100.
      { scope: 'user', scope_id: 'u-1', day: '2025-03-15', spent_usd: '1.037500000000' },
      { scope: 'user', scope_id: 'u-2', day: '2025-03-15', spent_usd: '0.000000000000' },
      { scope: 'user', scope_id: 'u-1', day: '2025-03-14', spent_usd: '0.007500000000' },
      { scope: 'global', scope_id: '', day: '2025-03-15', spent_usd: '100.037500000000' },
      { scope: 'global', scope_id: '', day: '2025-03-14', spent_usd: '0.007500000000' },
    ];
    const s = setup({ a: '0.0125', b: '0.0075', c: null, d: '0.025000000000', e: null }, daySpend, ['e']);
    const morning = at('2025-03-14T23:00:00Z'); // 08:00 on the 15th in Tokyo
    await s.run([
      event('e1', { requestId: 'a', occurredAt: morning, teamId: 't-1', runId: 'run-1' }),
      event('e2', { requestId: 'b', occurredAt: at('2025-03-14T14:30:00Z') }), // 23:30 on the 14th
      event('e3', { requestId: 'c', userId: 'u-2', model: 'mystery', occurredAt: morning }),
      event('e4', { requestId: 'a', occurredAt: morning }), // the same request again: nothing more
      event('e5', { requestId: 'd', occurredAt: morning, usage: { inputTokens: 5n, outputTokens: 7n } }),
      event('e6', { requestId: 'e', model: 'gpt-9', occurredAt: morning }),
    ]);
    const events = s.published(Topics.UsagePriced);
    expect(events.map((e) => e.opts)).toEqual(
      ['a', 'b', 'c', 'd', 'e'].map((id) => ({ key: id === 'c' ? 'u-2' : 'u-1', id: `usage-priced:${id}` })),
    );
    const fields = (e: (typeof events)[number]) => {
      const p = e.payload as Record<string, unknown>;
      return [p.requestId, p.costUsd, p.priced, p.usageDay, p.userSpendDayUsd, p.globalSpendDayUsd];
    };
    expect(events.map(fields)).toEqual([
      ['a', '0.0125', true, '2025-03-15', '1.0125', '100.0125'],
      ['b', '0.0075', true, '2025-03-14', '0.0075', '0.0075'],
      ['c', '0', false, '2025-03-15', '0.00', '100.0125'],
      ['d', '0.025', true, '2025-03-15', '1.0375', '100.0375'],
      ['e', '0', false, '2025-03-15', '1.0375', '100.0375'],
    ]);
    expect(events[0].payload).toMatchObject({
      userId: 'u-1',
      teamId: 't-1',
      provider: 'openai',
      model: 'gpt-4o',
      runId: 'run-1',
      unpricedReason: '',
      usage: { inputTokens: 1000n, outputTokens: 500n, cachedInputTokens: 0n },
      occurredAt: { seconds: BigInt(Date.parse('2025-03-14T23:00:00Z') / 1000), nanos: 0 },
    });
    expect(events[2].payload).toMatchObject({ unpricedReason: 'unknown model: no price for openai/mystery' });
    expect(events[4].payload).toMatchObject({
      unpricedReason: 'no price for openai/gpt-9 was in effect at 2025-03-14T23:00:00.000Z',
    });
  });

  it('publishes nothing when every record was seen before', async () => {
    const s = setup({});
    const result = await s.run([event('e1', { requestId: 'old' })]);
    expect(result.inserted).toBe(0);
    expect(s.addMany).not.toHaveBeenCalled();
    expect(s.addManyEncoded).not.toHaveBeenCalled();
  });

  it('rejects the batch on a bad record, before writing anything', async () => {
    const s = setup({});
    await expect(
      s.run([event('e1', { requestId: 'a' }), event('e2', { requestId: 'b', currency: 'EUR' })]),
    ).rejects.toBeInstanceOf(InvalidUsageRecordError);
    expect(s.insertBatch).not.toHaveBeenCalled();
  });
});
