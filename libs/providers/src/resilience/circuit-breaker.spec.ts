import { CircuitBreaker, type CircuitChange } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now = 0;
  let changes: CircuitChange[];
  let breaker: CircuitBreaker;
  beforeEach(() => {
    now = 1_000;
    changes = [];
    breaker = new CircuitBreaker('p', { failureThreshold: 3, openMs: 1000, now: () => now }, (c) => changes.push(c));
  });
  const fail = () => breaker.tryAcquire()!.failure('boom');

  it('opens after the threshold of consecutive failures and refuses calls while open', () => {
    fail();
    fail();
    expect(breaker.state).toBe('closed');
    fail();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.retryInMs()).toBe(1000);
    expect(changes).toEqual([expect.objectContaining({ provider: 'p', from: 'closed', to: 'open', error: 'boom' })]);
  });

  it('a success resets the count of consecutive failures', () => {
    fail();
    fail();
    breaker.tryAcquire()!.success();
    fail();
    fail();
    expect(breaker.state).toBe('closed');
  });

  it('neutral outcomes (429, 400, aborts) neither count nor reset', () => {
    fail();
    fail();
    breaker.tryAcquire()!.neutral();
    fail();
    expect(breaker.state).toBe('open');
  });

  it('half-opens after the wait, lets one trial through, and closes when it succeeds', () => {
    for (let i = 0; i < 3; i++) fail();
    now += 1000;
    expect(breaker.state).toBe('half_open');
    const trial = breaker.tryAcquire()!;
    expect(breaker.tryAcquire()).toBeUndefined();
    trial.success();
    expect(breaker.state).toBe('closed');
    expect(changes.map((c) => c.to)).toEqual(['open', 'half_open', 'closed']);
  });

  it('opens again when the trial fails', () => {
    for (let i = 0; i < 3; i++) fail();
    now += 1000;
    breaker.tryAcquire()!.failure('still down');
    expect(breaker.state).toBe('open');
    expect(changes.map((c) => c.to)).toEqual(['open', 'half_open', 'open']);
  });

  it('settling a permit twice counts once', () => {
    const p = breaker.tryAcquire()!;
    p.failure('x');
    p.failure('x');
    p.failure('x');
    fail();
    expect(breaker.state).toBe('closed');
  });
});
