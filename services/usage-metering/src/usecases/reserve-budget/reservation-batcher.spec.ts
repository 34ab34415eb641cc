import type { ServiceContext } from '@hishamos/platform';
import { Registry } from 'prom-client';
import { ManualClock } from '../../adapters/clock';
import type { MeteringConfig } from '../../config/metering-config';
import { LocalCalendar } from '../../domain/periods';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import type {
  ReservationRepository,
  ReserveBatchParams,
  ReserveRequest,
  ReserveResult,
} from '../../repositories/reservation.repository';
import { ReservationBatcher } from './reservation-batcher';

const request = (requestId: string): ReserveRequest => ({
  requestId,
  userId: 'u-1',
  teamId: '',
  provider: 'openai',
  model: 'gpt-4o',
  agent: '',
  command: '',
  inputTokens: 1000,
  maxOutputTokens: 1000,
});
const result = (id: string): ReserveResult => ({
  outcome: 'granted',
  reservation_id: `res-${id}`,
  amount_usd: '0.0125',
  expires_at: '2025-03-15T04:00:00.000Z',
  budget_id: null,
  scope: null,
  scope_id: null,
  period: null,
  period_start: null,
  limit_usd: null,
  spent_usd: null,
  reserved_usd: null,
});

function setup(concurrency: number, max: number, fail?: (ids: string[]) => boolean) {
  const calls: { ids: string[]; params: ReserveBatchParams }[] = [];
  const gates: (() => void)[] = [];
  const reserveMany = jest.fn(async (_db: unknown, requests: ReserveRequest[], params: ReserveBatchParams) => {
    const ids = requests.map((r) => r.requestId);
    calls.push({ ids, params });
    await new Promise<void>((resolve) => gates.push(resolve)); // held until the test lets it finish
    if (fail?.(ids)) throw new Error(`statement failed for ${ids.join(',')}`);
    return ids.map(result);
  });
  const config = {
    settings: {
      RESERVATION_TTL_SECONDS: 600,
      RESERVATION_SYNCHRONOUS_COMMIT: 'on',
      RESERVATION_BATCH_CONCURRENCY: concurrency,
      RESERVATION_BATCH_MAX: max,
    },
    calendar: new LocalCalendar('America/New_York'),
  } as unknown as MeteringConfig;
  const batcher = new ReservationBatcher(
    { db: { kind: 'postgres' } } as unknown as ServiceContext,
    new ManualClock('2025-03-15T03:50:00Z'), // 23:50 on the 14th in New York
    config,
    { reserveMany } as unknown as ReservationRepository,
    new MeteringMetrics({ metrics: { registry: new Registry() } } as unknown as ServiceContext),
  );
  const tick = () => new Promise((r) => setImmediate(r));
  const release = async () => {
    while (gates.length) gates.shift()!();
    await tick();
  };
  return { batcher, calls, release, tick };
}

describe('ReservationBatcher', () => {
  it('sends a request alone when a slot is free, and batches those that arrive meanwhile, in order', async () => {
    const s = setup(1, 100);
    const first = s.batcher.reserve(request('a'));
    const rest = ['b', 'c', 'd'].map((id) => s.batcher.reserve(request(id)));
    await s.tick();
    expect(s.calls.map((c) => c.ids)).toEqual([['a']]);
    expect(s.calls[0].params).toEqual({
      now: new Date('2025-03-15T03:50:00Z'),
      ttlSeconds: 600,
      starts: { day: '2025-03-14', week: '2025-03-10', month: '2025-03-01' },
      synchronousCommit: true,
    });
    await s.release();
    expect(s.calls.map((c) => c.ids)).toEqual([['a'], ['b', 'c', 'd']]);
    await s.release();
    await expect(first).resolves.toMatchObject({ reservation_id: 'res-a' });
    await expect(Promise.all(rest)).resolves.toEqual([result('b'), result('c'), result('d')]);
  });

  it('keeps batches under the maximum, never puts a request id twice in one, and runs several at once', async () => {
    const s = setup(2, 2);
    const all = ['a', 'b', 'c', 'c', 'd', 'e'].map((id) => s.batcher.reserve(request(id)));
    await s.tick();
    expect(s.calls.map((c) => c.ids)).toEqual([['a'], ['b']]);
    await s.release();
    expect(s.calls.slice(2).map((c) => c.ids)).toEqual([
      ['c', 'd'],
      ['c', 'e'],
    ]);
    await s.release();
    await expect(Promise.all(all)).resolves.toHaveLength(6);
  });

  it('retries the requests of a failed statement one at a time, so only the bad one fails', async () => {
    const s = setup(1, 100, (ids) => ids.includes('bad'));
    const first = s.batcher.reserve(request('a'));
    const batch = ['b', 'bad', 'c'].map((id) => s.batcher.reserve(request(id)).catch((e: Error) => e.message));
    await s.tick();
    for (let i = 0; i < 5; i++) await s.release();
    await first;
    expect(await Promise.all(batch)).toEqual([result('b'), 'statement failed for bad', result('c')]);
    expect(s.calls.map((c) => c.ids)).toEqual([['a'], ['b', 'bad', 'c'], ['b'], ['bad'], ['c']]);
  });
});
