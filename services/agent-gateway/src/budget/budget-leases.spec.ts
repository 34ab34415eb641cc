import type { Logger } from '@hishamos/platform';
import { BudgetLeases, picoOf, usdOf, type CurrentPrice, type LeaseApi, type LeaseGrant } from './budget-leases';
import type { ReservationRequest } from './budget.port';

const GPT4O: CurrentPrice = {
  provider: 'openai',
  model: 'gpt-4o',
  priced: true,
  inputPerMtokUsd: '2.5',
  outputPerMtokUsd: '10',
  cachedInputPerMtokUsd: '1.25',
};

/** usage-metering as the leases see it: grants what the test says, records closes. */
class FakeMetering implements LeaseApi {
  grants: Parameters<LeaseApi['grant']>[0][] = [];
  closes: { leaseId: string; usedUsd: string }[] = [];
  next: (n: number) => LeaseGrant = (n) => ({
    granted: true,
    leaseId: `lease-${n}`,
    amountUsd: '0.05',
    expiresAt: new Date(clock.t + 600_000).toISOString(),
    price: GPT4O,
  });
  failing = false;
  prices = new Map<string, CurrentPrice>();

  async grant(body: Parameters<LeaseApi['grant']>[0]): Promise<LeaseGrant> {
    this.grants.push(body);
    await new Promise((r) => setImmediate(r));
    if (this.failing) throw new Error('connect ECONNREFUSED');
    return this.next(this.grants.length);
  }
  async close(leaseId: string, usedUsd: string): Promise<void> {
    this.closes.push({ leaseId, usedUsd });
  }
  async price(provider: string, model: string): Promise<CurrentPrice> {
    return this.prices.get(`${provider}/${model}`) ?? { provider, model, priced: false };
  }
}

const clock = { t: 1_700_000_000_000 };
const logger = { warn: () => undefined, info: () => undefined, error: () => undefined } as unknown as Logger;

/** 1,000 input and 1,000 output tokens of gpt-4o: $0.0125 at worst. */
const call = (userId = 'u1', over: Partial<ReservationRequest> = {}): ReservationRequest => ({
  requestId: `r-${Math.random()}`,
  userId,
  provider: 'openai',
  model: 'gpt-4o',
  inputTokens: 1000,
  maxOutputTokens: 1000,
  ...over,
});

describe('BudgetLeases', () => {
  let metering: FakeMetering;
  let leases: BudgetLeases;
  beforeEach(() => {
    clock.t = 1_700_000_000_000;
    metering = new FakeMetering();
    leases = new BudgetLeases(
      metering,
      { calls: 50, useSeconds: 30, retrySeconds: 5, priceSeconds: 60 },
      logger,
      () => clock.t,
    );
  });
  afterEach(() => leases.stop());
  const flush = () => new Promise((r) => setImmediate(r));

  it('converts between USD strings and pico-dollars exactly', () => {
    expect(picoOf('0.0125')).toBe(12_500_000_000n);
    expect(picoOf('1')).toBe(1_000_000_000_000n);
    expect(usdOf(12_500_000_000n)).toBe('0.0125');
    expect(usdOf(3_000_000_000_000n)).toBe('3');
    expect(usdOf(-5n)).toBe('0');
    expect(() => picoOf('-1')).toThrow(RangeError);
  });

  it('grants calls from the lease at their worst case until it cannot cover the next, then gives it back', async () => {
    expect(leases.tryHold(call())).toBeUndefined();
    await leases.acquire(call());
    expect(metering.grants).toEqual([
      { userId: 'u1', provider: 'openai', model: 'gpt-4o', inputTokens: 1000, maxOutputTokens: 1000, calls: 50 },
    ]);
    const held = [1, 2, 3, 4].map(() => leases.tryHold(call()));
    for (const h of held) expect(h).toMatchObject({ amountUsd: '0.0125', metered: true });
    expect(new Set(held.map((h) => h!.reservationId)).size).toBe(4);
    expect(held[0]!.reservationId!).toMatch(/^lease-1\//);
    // $0.05 committed: a fifth call does not fit; the lease is retired and given back with what its
    // calls hold (all four still running, at their worst case).
    expect(leases.tryHold(call())).toBeUndefined();
    await leases.released(call());
    expect(metering.closes).toEqual([{ leaseId: 'lease-1', usedUsd: '0.05' }]);
    // The calls end: 1,000 in / 500 out costs $0.0075; one failed before any tokens; one had cached input.
    leases.settle(held[0]!.reservationId!, { inputTokens: 1000, outputTokens: 500, cachedInputTokens: 0 });
    leases.settle(held[1]!.reservationId!);
    leases.settle(held[2]!.reservationId!, { inputTokens: 1000, outputTokens: 500, cachedInputTokens: 1000 });
    expect(metering.closes).toHaveLength(1);
    expect(leases.settle(held[2]!.reservationId!)).toBe(false); // once
    leases.settle(held[3]!.reservationId!, { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 });
    // The last call ended: reported again with the actual costs ($0.0075 + $0.00625).
    await flush();
    expect(metering.closes[1]).toEqual({ leaseId: 'lease-1', usedUsd: '0.01375' });
  });

  it('takes the next lease in the background before the current one runs out, one request per user', async () => {
    await Promise.all([leases.acquire(call()), leases.acquire(call()), leases.acquire(call())]);
    expect(metering.grants).toHaveLength(1);
    leases.tryHold(call());
    leases.tryHold(call());
    expect(metering.grants).toHaveLength(1);
    // Three of four calls' worth committed (more than two thirds): the next lease is asked for.
    leases.tryHold(call());
    await flush();
    await flush();
    expect(metering.grants).toHaveLength(2);
    const next = leases.tryHold(call());
    expect(next!.reservationId).toMatch(/^lease-2\//);
    // The first lease was retired when the second arrived: given back with its three running calls.
    expect(metering.closes).toEqual([{ leaseId: 'lease-1', usedUsd: '0.0375' }]);
  });

  it('uses a lease for new calls only for its time, and gives idle leases back', async () => {
    await leases.acquire(call());
    expect(leases.tryHold(call())).toBeDefined();
    clock.t += 30_001;
    expect(leases.tryHold(call())).toBeUndefined();
    await leases.released(call());
    expect(metering.closes).toEqual([{ leaseId: 'lease-1', usedUsd: '0.0125' }]);
    expect(leases.size).toBe(0);
    // Stopping gives back every lease held.
    await leases.acquire(call('u2'));
    await leases.stop();
    expect(metering.closes).toContainEqual({ leaseId: 'lease-2', usedUsd: '0' });
  });

  it('after a refusal or an error reserves per call for a while; an unpriced model never leases', async () => {
    metering.next = () => ({ granted: false, reason: 'near_limit', price: GPT4O });
    await leases.acquire(call());
    expect(leases.mayLease(call())).toBe(false);
    expect(leases.tryHold(call())).toBeUndefined();
    clock.t += 5_001;
    expect(leases.mayLease(call())).toBe(true);

    metering.failing = true;
    await leases.acquire(call('u3'));
    expect(leases.mayLease(call('u3'))).toBe(false);

    metering.failing = false;
    metering.next = () => ({
      granted: false,
      reason: 'unpriced',
      price: { provider: 'acme', model: 'mystery', priced: false },
    });
    const mystery = call('u4', { provider: 'acme', model: 'mystery' });
    await leases.acquire(mystery);
    expect(leases.mayLease(mystery)).toBe(false);
    expect(leases.mayLease(call('u4'))).toBe(true);
  });

  it('does not grant a model whose price it does not know yet from a lease (it asks for the price)', async () => {
    await leases.acquire(call());
    metering.prices.set('anthropic/claude-sonnet-4-5', {
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      priced: true,
      inputPerMtokUsd: '3',
      outputPerMtokUsd: '15',
    });
    const sonnet = call('u1', { provider: 'anthropic', model: 'claude-sonnet-4-5', maxOutputTokens: 100 });
    expect(leases.tryHold(sonnet)).toBeUndefined();
    await flush();
    // $0.003 + $0.0015 at worst.
    expect(leases.tryHold(sonnet)).toMatchObject({ amountUsd: '0.0045' });
  });
});
