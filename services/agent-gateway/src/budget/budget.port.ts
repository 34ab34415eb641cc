/** Budget reservation before a provider call (usage-metering's internal API, or none). */
export const BUDGET = Symbol('BUDGET');

export interface ReservationRequest {
  /** The call's metering idempotency key (UsageRecorded.request_id): the same request gets the same reservation. */
  requestId: string;
  userId: string;
  teamId?: string;
  provider: string;
  model: string;
  agent?: string;
  command?: string;
  inputTokens: number;
  maxOutputTokens: number;
}

export interface Reservation {
  /** Absent when nothing was reserved (no budget backend, or metering down and no hard limit applies). */
  reservationId?: string;
  amountUsd: string;
  /** False when the call goes ahead without a reservation. */
  metered: boolean;
}

export interface RecordedUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

/**
 * The id usage-metering knows a reservation by. A call granted from a budget lease is
 * `<lease id>/<call>` in the gateway (its own hold) and settles at metering against the lease.
 */
export function meteringReservationId(reservationId: string | undefined): string {
  if (!reservationId) return '';
  const slash = reservationId.indexOf('/');
  return slash < 0 ? reservationId : reservationId.slice(0, slash);
}

export interface BudgetPort {
  /** Holds the call's worst-case cost; throws ApiError 429 `budget_exceeded` naming the budget. */
  reserve(request: ReservationRequest): Promise<Reservation>;
  /** Gives back a reservation that will never get usage (the call failed before any tokens). */
  release(reservationId: string): Promise<void>;
  /**
   * The call's usage is being recorded (UsageRecorded carries the reservation to metering): a hold
   * the gateway keeps itself (a budget lease's) moves from the worst case to the actual cost.
   */
  usageRecorded?(reservationId: string, usage: RecordedUsage): void;
}
