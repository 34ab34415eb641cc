import type { Logger } from '@hishamos/platform';
import type { RecordedUsage, Reservation, ReservationRequest } from './budget.port';

/** What usage-metering answers to POST /internal/v1/leases. */
export interface LeaseGrant {
  granted: boolean;
  leaseId?: string;
  amountUsd?: string;
  expiresAt?: string;
  reason?: 'near_limit' | 'unpriced';
  price: CurrentPrice;
}

/** GET /internal/v1/prices/current: per million tokens, decimal strings. */
export interface CurrentPrice {
  provider: string;
  model: string;
  priced: boolean;
  inputPerMtokUsd?: string;
  outputPerMtokUsd?: string;
  cachedInputPerMtokUsd?: string;
}

/** The calls to usage-metering the leases need. */
export interface LeaseApi {
  grant(body: {
    userId: string;
    teamId?: string;
    provider: string;
    model: string;
    inputTokens: number;
    maxOutputTokens: number;
    calls: number;
  }): Promise<LeaseGrant>;
  close(leaseId: string, usedUsd: string): Promise<void>;
  price(provider: string, model: string): Promise<CurrentPrice>;
}

export interface LeaseSettings {
  /** How many calls like the one asking a lease should cover. */
  calls: number;
  /** How long new calls are granted from one lease (then a fresh one is taken). */
  useSeconds: number;
  /** After a refusal (near a limit) or an error, per-call reservations for this long. */
  retrySeconds: number;
  /** How long a model's price is used before it is read again. */
  priceSeconds: number;
}

/** Price per million tokens in pico-dollars (10^-12 USD); null: the model has no price. */
interface Price {
  input: bigint;
  output: bigint;
  cached: bigint;
  at: number;
}

interface Lease {
  id: string;
  key: string;
  /** All amounts in pico-dollars. */
  capacity: bigint;
  /** Worst case of the calls running plus the cost of the calls done. */
  committed: bigint;
  inflight: number;
  useUntil: number;
  retired: boolean;
  /** What metering was last told the lease used (closing again only when it fell). */
  reported?: bigint;
}

interface Hold {
  lease: Lease;
  worst: bigint;
  price: Price;
}

const PICO_DIGITS = 12;
const MILLION = 1_000_000n;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** A non-negative decimal string as pico-dollars (extra decimals beyond 12 are dropped). */
export function picoOf(usd: string): bigint {
  const m = DECIMAL.exec(usd.trim());
  if (!m) throw new RangeError(`not a USD amount: ${JSON.stringify(usd)}`);
  return BigInt(`${m[1]}${(m[2] ?? '').slice(0, PICO_DIGITS).padEnd(PICO_DIGITS, '0')}`);
}

/** Pico-dollars as a decimal string (12 decimals, trailing zeros dropped). */
export function usdOf(pico: bigint): string {
  const v = pico < 0n ? 0n : pico;
  const digits = v.toString().padStart(PICO_DIGITS + 1, '0');
  const frac = digits.slice(-PICO_DIGITS).replace(/0+$/, '');
  return `${digits.slice(0, -PICO_DIGITS)}${frac ? `.${frac}` : ''}`;
}

const keyOf = (userId: string, teamId?: string) => `${userId}\u0000${teamId ?? ''}`;
const modelKey = (provider: string, model: string) => `${provider}\u0000${model}`;

/**
 * Budget leases kept by one gateway replica: a slice of a user's budget that usage-metering granted
 * atomically against every hard limit that applies (the user's, their team's, the platform's), from
 * which this gateway grants calls itself, at their worst-case cost, with no round trip. A call's usage
 * moves its hold from the worst case to the actual cost (at the model's price as metering reported it);
 * usage-metering settles the same usage against the lease when the UsageRecorded event arrives.
 *
 * A lease is used for new calls for `useSeconds`, or until it cannot cover the next call; a fresh one
 * is taken before that (in the background once two thirds are committed or the time is two thirds
 * gone). A retired lease is given back at once with what its calls committed (calls still running at
 * their worst case), and again when its last call ends. Near a limit metering refuses a lease (it
 * never takes more than a share of the headroom) and calls are reserved one by one, which is exact.
 * Everything here is in memory: a crashed gateway's leases expire at metering.
 */
export class BudgetLeases {
  private readonly leases = new Map<string, Lease>();
  private readonly acquiring = new Map<string, Promise<void>>();
  private readonly retryAfter = new Map<string, number>();
  private readonly prices = new Map<string, Price | null>();
  private readonly priceFetches = new Set<string>();
  private readonly holds = new Map<string, Hold>();
  private readonly closing = new Set<Promise<void>>();
  /** The latest close of a retired lease per user, until metering answered it. */
  private readonly closingByKey = new Map<string, Promise<void>>();
  private seq = 0;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly api: LeaseApi,
    private readonly settings: LeaseSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.sweep = setInterval(() => this.retireExpired(), 1000);
    this.sweep.unref();
  }

  /** A call held from this user's lease, or undefined (no usable lease, or no price for the model). */
  tryHold(request: ReservationRequest): Reservation | undefined {
    const key = keyOf(request.userId, request.teamId);
    const lease = this.leases.get(key);
    if (!lease) return undefined;
    const price = this.priceFor(request.provider, request.model);
    if (!price) return undefined;
    const now = this.now();
    const worst =
      (BigInt(request.inputTokens) * price.input + BigInt(request.maxOutputTokens) * price.output) / MILLION;
    if (now >= lease.useUntil || lease.committed + worst > lease.capacity) {
      this.retire(lease);
      return undefined;
    }
    lease.committed += worst;
    lease.inflight++;
    const id = `${lease.id}/${(this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER)}`;
    this.holds.set(id, { lease, worst, price });
    // Two thirds committed or two thirds of its time gone: take the next one before this one runs out.
    const useMs = this.settings.useSeconds * 1000;
    if (lease.committed * 3n > lease.capacity * 2n || lease.useUntil - now < useMs / 3)
      void this.acquire(request, true);
    return { reservationId: id, amountUsd: usdOf(worst), metered: true };
  }

  /**
   * A call held from this user's lease, taking a lease first when there is none to use (the caller
   * waits for that one round trip); undefined when no lease can cover it (the caller reserves per call).
   * A retired lease's give-back is answered first, so its unused rest never counts against the call.
   */
  async reserve(request: ReservationRequest): Promise<Reservation | undefined> {
    const held = this.tryHold(request);
    if (held) return held;
    await this.released(request);
    if (!this.mayLease(request)) return undefined;
    await this.acquire(request);
    return this.tryHold(request);
  }

  /** Whether a lease may be asked for now (none refused or failed lately; the model is not known unpriced). */
  mayLease(request: ReservationRequest): boolean {
    const until = this.retryAfter.get(keyOf(request.userId, request.teamId));
    if (until !== undefined && this.now() < until) return false;
    return this.prices.get(modelKey(request.provider, request.model)) !== null;
  }

  /**
   * Asks usage-metering for a lease for this user (one request at a time per user; callers wait for
   * it). `replace`: the current lease is running low, the new one takes its place when granted.
   * Never throws: a refusal or an error means per-call reservations for a while.
   */
  acquire(request: ReservationRequest, replace = false): Promise<void> {
    const key = keyOf(request.userId, request.teamId);
    const pending = this.acquiring.get(key);
    if (pending) return pending;
    if (replace && !this.mayLease(request)) return Promise.resolve();
    const run = (async () => {
      try {
        const answer = await this.api.grant({
          userId: request.userId,
          teamId: request.teamId,
          provider: request.provider,
          model: request.model,
          inputTokens: request.inputTokens,
          maxOutputTokens: request.maxOutputTokens,
          calls: this.settings.calls,
        });
        this.remember(answer.price);
        if (!answer.granted || !answer.leaseId || !answer.amountUsd || !answer.expiresAt) {
          if (answer.reason !== 'unpriced') this.retryAfter.set(key, this.now() + this.settings.retrySeconds * 1000);
          return;
        }
        const now = this.now();
        const expires = Date.parse(answer.expiresAt);
        const lease: Lease = {
          id: answer.leaseId,
          key,
          capacity: picoOf(answer.amountUsd),
          committed: 0n,
          inflight: 0,
          // New calls for useSeconds, and never in the last half of its time at metering (the calls
          // granted from it have that long to finish before it stops holding).
          useUntil: Math.min(now + this.settings.useSeconds * 1000, now + (expires - now) / 2),
          retired: false,
        };
        const previous = this.leases.get(key);
        this.leases.set(key, lease);
        if (previous) this.retire(previous);
        this.retryAfter.delete(key);
      } catch (error) {
        this.retryAfter.set(key, this.now() + this.settings.retrySeconds * 1000);
        this.logger.warn({ err: (error as Error).message }, 'cannot take a budget lease; reserving per call');
      } finally {
        this.acquiring.delete(key);
      }
    })();
    this.acquiring.set(key, run);
    return run;
  }

  /** The call ended: its hold moves from the worst case to its cost (nothing when it failed before any tokens). */
  settle(reservationId: string, usage?: RecordedUsage): boolean {
    const hold = this.holds.get(reservationId);
    if (!hold) return false;
    this.holds.delete(reservationId);
    const { lease, price } = hold;
    const actual = usage
      ? (BigInt(Math.max(0, usage.inputTokens - usage.cachedInputTokens)) * price.input +
          BigInt(usage.cachedInputTokens) * price.cached +
          BigInt(usage.outputTokens) * price.output) /
        MILLION
      : 0n;
    lease.committed += actual - hold.worst;
    lease.inflight--;
    if (lease.retired && lease.inflight === 0) this.report(lease);
    return true;
  }

  /** Gives every lease back (the gateway is stopping); waits for those answers. */
  async stop(): Promise<void> {
    clearInterval(this.sweep);
    for (const lease of [...this.leases.values()]) this.retire(lease);
    await Promise.allSettled([...this.acquiring.values()]);
    for (const lease of [...this.leases.values()]) this.retire(lease);
    await Promise.allSettled([...this.closing]);
  }

  /** Leases held now (for metrics and tests). */
  get size(): number {
    return this.leases.size;
  }

  private priceFor(provider: string, model: string): Price | undefined {
    const k = modelKey(provider, model);
    const price = this.prices.get(k);
    if (price === null) return undefined;
    if (price === undefined || this.now() - price.at > this.settings.priceSeconds * 1000)
      this.refreshPrice(provider, model);
    return price ?? undefined;
  }

  private refreshPrice(provider: string, model: string): void {
    const k = modelKey(provider, model);
    if (this.priceFetches.has(k)) return;
    this.priceFetches.add(k);
    this.api
      .price(provider, model)
      .then((p) => this.remember(p))
      .catch(() => undefined)
      .finally(() => this.priceFetches.delete(k));
  }

  private remember(p: CurrentPrice): void {
    const k = modelKey(p.provider, p.model);
    if (this.prices.size > 10_000) this.prices.clear();
    if (!p.priced || !p.inputPerMtokUsd || !p.outputPerMtokUsd) {
      this.prices.set(k, null);
      // Known unpriced for priceSeconds, then asked again.
      setTimeout(() => this.prices.get(k) === null && this.prices.delete(k), this.settings.priceSeconds * 1000).unref();
      return;
    }
    this.prices.set(k, {
      input: picoOf(p.inputPerMtokUsd),
      output: picoOf(p.outputPerMtokUsd),
      cached: picoOf(p.cachedInputPerMtokUsd ?? p.inputPerMtokUsd),
      at: this.now(),
    });
  }

  private retire(lease: Lease): void {
    if (this.leases.get(lease.key) === lease) this.leases.delete(lease.key);
    if (lease.retired) return;
    lease.retired = true;
    this.report(lease);
  }

  private retireExpired(): void {
    const now = this.now();
    for (const lease of [...this.leases.values()]) if (now >= lease.useUntil) this.retire(lease);
    if (this.retryAfter.size > 100_000) this.retryAfter.clear();
  }

  /** Tells metering what the lease's calls used (running calls at their worst case), when that fell. */
  private report(lease: Lease): void {
    const used = lease.committed < 0n ? 0n : lease.committed;
    if (lease.reported !== undefined && used >= lease.reported) return;
    lease.reported = used;
    const closing = this.api
      .close(lease.id, usdOf(used))
      .catch((error: unknown) =>
        this.logger.warn(
          { leaseId: lease.id, err: (error as Error).message },
          'cannot give a budget lease back; it expires on its own',
        ),
      )
      .finally(() => {
        this.closing.delete(closing);
        if (this.closingByKey.get(lease.key) === closing) this.closingByKey.delete(lease.key);
      });
    this.closing.add(closing);
    this.closingByKey.set(lease.key, closing);
  }

  /**
   * Resolves once metering has answered the give-back of this user's retired leases, so what they no
   * longer hold is free before the caller reserves at metering (a call too large for the lease must
   * not be refused because of the lease's unused rest).
   */
  released(request: ReservationRequest): Promise<void> {
    return this.closingByKey.get(keyOf(request.userId, request.teamId)) ?? Promise.resolve();
  }
}
