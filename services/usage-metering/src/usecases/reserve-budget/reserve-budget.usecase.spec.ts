import { ApiError, type ServiceContext } from '@hishamos/platform';
import { Registry } from 'prom-client';
import { ManualClock } from '../../adapters/clock';
import type { MeteringConfig } from '../../config/metering-config';
import { LocalCalendar } from '../../domain/periods';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import type { ReserveResult } from '../../repositories/reservation.repository';
import type { SpendRepository } from '../../repositories/spend.repository';
import type { ReservationBatcher } from './reservation-batcher';
import { ReserveBudgetUseCase } from './reserve-budget.usecase';

const none = {
  budget_id: null,
  scope: null,
  scope_id: null,
  period: null,
  period_start: null,
  limit_usd: null,
  spent_usd: null,
  reserved_usd: null,
};
const granted: ReserveResult = {
  outcome: 'granted',
  reservation_id: 'r-1',
  amount_usd: '0.012500000000',
  expires_at: '2025-03-15T04:15:00.000Z',
  ...none,
};
const denied: ReserveResult = {
  outcome: 'denied',
  reservation_id: null,
  amount_usd: '0.0125',
  expires_at: null,
  budget_id: 'b-1',
  scope: 'user',
  scope_id: 'u-1',
  period: 'day',
  period_start: '2025-03-14',
  limit_usd: '5.000000',
  spent_usd: '4.990000000000',
  reserved_usd: '0.000000000000',
};

function setup(results: ReserveResult[]) {
  const clock = new ManualClock('2025-03-15T03:50:00Z'); // 23:50 on the 14th in New York
  const reserve = jest.fn(async () => results.shift()!);
  const ensureCounters = jest.fn(async () => undefined);
  const recordRefusal = jest.fn(async () => true);
  const outboxAdd = jest.fn(async () => 'event-id');
  const tx = { query: jest.fn(), run: jest.fn() };
  const ctx = {
    db: { transaction: async (fn: (t: unknown) => Promise<unknown>) => fn(tx) },
    outbox: { add: outboxAdd },
    metrics: { registry: new Registry() },
  } as unknown as ServiceContext;
  const config = {
    settings: { RESERVATION_TTL_SECONDS: 600, RESERVATION_SYNCHRONOUS_COMMIT: 'off' },
    calendar: new LocalCalendar('America/New_York'),
    timeZone: 'America/New_York',
  } as unknown as MeteringConfig;
  const useCase = new ReserveBudgetUseCase(
    ctx,
    clock,
    config,
    { reserve } as unknown as ReservationBatcher,
    { ensureCounters, recordRefusal } as unknown as SpendRepository,
    new MeteringMetrics(ctx),
  );
  return { useCase, reserve, ensureCounters, recordRefusal, outboxAdd };
}

const command = {
  requestId: 'req-1',
  userId: 'u-1',
  provider: 'openai',
  model: 'gpt-4o',
  inputTokens: 1000,
  maxOutputTokens: 1000,
};

describe('ReserveBudgetUseCase', () => {
  it('reserves for the periods of the configured zone, creating missing counters once', async () => {
    const s = setup([{ ...granted, outcome: 'missing_counters' }, granted]);
    await expect(s.useCase.execute(command)).resolves.toEqual({
      reservationId: 'r-1',
      granted: true,
      amountUsd: '0.0125',
      expiresAt: '2025-03-15T04:15:00.000Z',
    });
    expect(s.ensureCounters).toHaveBeenCalledTimes(1);
    expect(s.ensureCounters).toHaveBeenCalledWith(expect.anything(), 'u-1', '', {
      day: '2025-03-14',
      week: '2025-03-10',
      month: '2025-03-01',
    });
    expect(s.reserve).toHaveBeenCalledTimes(2);
    expect(s.reserve).toHaveBeenLastCalledWith({
      requestId: 'req-1',
      userId: 'u-1',
      teamId: '',
      provider: 'openai',
      model: 'gpt-4o',
      agent: '',
      command: '',
      inputTokens: 1000,
      maxOutputTokens: 1000,
    });
  });

  it('refuses with budget_exceeded naming the budget, and records the hard-limit event once per period', async () => {
    const s = setup([denied, { ...denied }]);
    const e = (await s.useCase.execute(command).catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(403);
    expect(e.code).toBe('budget_exceeded');
    expect(e.message).toBe(
      'the daily budget of user u-1 would be exceeded: hard limit $5.00, spent $4.99, reserved $0.00, this call may cost up to $0.0125',
    );
    expect(e.extra.details).toMatchObject({
      scope: 'user',
      scopeId: 'u-1',
      period: 'day',
      limitUsd: '5.00',
      spentUsd: '4.99',
      reservedUsd: '0.00',
    });
    expect(s.outboxAdd).toHaveBeenCalledWith(
      expect.anything(),
      'hishamos.budget.threshold-crossed.v1',
      expect.objectContaining({ scopeId: 'u-1', periodStart: '2025-03-14', limitUsd: '5.00' }),
      expect.objectContaining({ id: 'budget:user:u-1:day:2025-03-14:hard', key: 'user:u-1' }),
    );
    await expect(s.useCase.execute(command)).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect(s.recordRefusal).toHaveBeenCalledTimes(1);
  });

  it('refuses an unknown model under a hard limit', async () => {
    const s = setup([{ ...denied, outcome: 'unpriced' }]);
    await expect(s.useCase.execute({ ...command, model: 'mystery' })).rejects.toMatchObject({
      status: 403,
      code: 'unpriced_model',
      extra: { field: 'model' },
    });
  });
});
