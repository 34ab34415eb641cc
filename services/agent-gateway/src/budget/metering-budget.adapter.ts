import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ApiError, InternalHttpError, SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import type { AgentGatewaySettings } from '../config/agent-gateway.settings';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { BudgetLeases, type CurrentPrice, type LeaseGrant } from './budget-leases';
import type { BudgetPort, RecordedUsage, Reservation, ReservationRequest } from './budget.port';
import { MeteringHttpClient } from './metering-http.client';

interface ReservationResponse {
  reservationId: string;
  granted: boolean;
  amountUsd: string;
  expiresAt?: string;
}

interface SpendResponse {
  day?: { hardUsd?: string | null };
  budgets?: { hardUsd?: string | null }[];
}

interface LimitView {
  hardLimit: boolean;
  at: number;
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: unknown };
}

/**
 * Reserves budget before each provider call: from a budget lease this gateway holds for the user
 * (BudgetLeases; BUDGET_LEASES, on by default: no round trip), otherwise at usage-metering
 * (POST /internal/v1/reservations), where the first call of a user also takes the lease.
 *
 * When metering cannot answer (unreachable, timeout, 5xx, route missing) the rule is:
 * - the call goes ahead unmetered (no reservation; its usage is still recorded and settled later)
 *   only when the gateway's own recent view of the user's budgets (GET /internal/v1/spend/users/:id,
 *   at most BUDGET_FAIL_OPEN_MAX_AGE_SECONDS old) shows that no hard limit applies to the user;
 * - otherwise — a hard limit applies, or the gateway has no recent view — it is refused with 503
 *   `budget_unavailable` (fail closed), so a hard limit holds even while metering is down.
 */
@Injectable()
export class MeteringBudgetAdapter implements BudgetPort, OnModuleDestroy {
  private readonly client: MeteringHttpClient;
  private readonly leases?: BudgetLeases;
  private readonly settings: AgentGatewaySettings;
  private readonly views = new Map<string, LimitView>();
  private readonly refreshing = new Set<string>();

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly metrics: GatewayMetrics,
  ) {
    this.settings = settingsOf<AgentGatewaySettings>(ctx);
    this.client = new MeteringHttpClient(
      () => ctx.urlOf('usage-metering'),
      ctx.config.SERVICE_TOKEN ?? '',
      ctx.name,
      this.settings.BUDGET_TIMEOUT_MS,
    );
    if (this.settings.BUDGET_LEASES)
      this.leases = new BudgetLeases(
        {
          grant: (body) => this.client.request<LeaseGrant>('POST', '/internal/v1/leases', body),
          close: async (leaseId, usedUsd) => {
            await this.client.request('POST', `/internal/v1/leases/${encodeURIComponent(leaseId)}/close`, { usedUsd });
          },
          price: (provider, model) =>
            this.client.request<CurrentPrice>(
              'GET',
              `/internal/v1/prices/current?provider=${encodeURIComponent(provider)}&model=${encodeURIComponent(model)}`,
            ),
        },
        {
          calls: this.settings.BUDGET_LEASE_CALLS,
          useSeconds: this.settings.BUDGET_LEASE_SECONDS,
          retrySeconds: 5,
          priceSeconds: 60,
        },
        ctx.logger,
      );
  }

  async onModuleDestroy(): Promise<void> {
    await this.leases?.stop();
  }

  async reserve(request: ReservationRequest): Promise<Reservation> {
    if (this.leases) {
      const held = await this.leases.reserve(request);
      if (held) {
        this.metrics.budgetDecisions.inc({ outcome: 'leased' });
        this.refreshViewSoon(request.userId, request.teamId);
        return held;
      }
    }
    let res: ReservationResponse;
    try {
      res = await this.client.request<ReservationResponse>('POST', '/internal/v1/reservations', request);
    } catch (error) {
      if (error instanceof InternalHttpError && error.status === 403) {
        const body = (error.body ?? {}) as ErrorBody;
        const code = body.error?.code ?? 'forbidden';
        const message = body.error?.message ?? 'the budget does not allow this request';
        if (code === 'budget_exceeded') {
          this.metrics.budgetDecisions.inc({ outcome: 'exceeded' });
          throw new ApiError(429, 'budget_exceeded', message, { reason: message, details: body.error?.details });
        }
        this.metrics.budgetDecisions.inc({ outcome: 'refused' });
        throw new ApiError(403, code, message, {
          reason: message,
          ...(code === 'unpriced_model' ? { field: 'model' } : {}),
        });
      }
      return this.meteringUnavailable(request, error);
    }
    this.metrics.budgetDecisions.inc({ outcome: 'granted' });
    this.refreshViewSoon(request.userId, request.teamId);
    return { reservationId: res.reservationId, amountUsd: res.amountUsd, metered: true };
  }

  async release(reservationId: string): Promise<void> {
    if (this.leases?.settle(reservationId)) return;
    try {
      await this.client.request('POST', `/internal/v1/reservations/${encodeURIComponent(reservationId)}/release`);
    } catch (error) {
      // It expires on its own; log and move on.
      this.ctx.logger.warn({ reservationId, err: (error as Error).message }, 'cannot release a budget reservation');
    }
  }

  usageRecorded(reservationId: string, usage: RecordedUsage): void {
    this.leases?.settle(reservationId, usage);
  }

  private meteringUnavailable(request: ReservationRequest, error: unknown): Reservation {
    const why =
      error instanceof InternalHttpError
        ? `HTTP ${error.status}`
        : (error as Error).name === 'TimeoutError'
          ? 'timed out'
          : 'unreachable';
    const view = this.views.get(request.userId);
    const fresh = view !== undefined && Date.now() - view.at <= this.settings.BUDGET_FAIL_OPEN_MAX_AGE_SECONDS * 1000;
    if (fresh && !view.hardLimit) {
      this.metrics.budgetDecisions.inc({ outcome: 'unmetered' });
      this.ctx.logger.warn(
        { requestId: request.requestId, reason: why },
        'usage-metering cannot answer; no hard limit applies: going ahead unmetered',
      );
      return { amountUsd: '0', metered: false };
    }
    this.metrics.budgetDecisions.inc({ outcome: 'refused' });
    this.ctx.logger.warn(
      { requestId: request.requestId, reason: why },
      'usage-metering cannot answer; a hard limit may apply: refused',
    );
    throw new ApiError(
      503,
      'budget_unavailable',
      'the budget service cannot answer right now and a hard spending limit may apply to you, so the request was refused; try again shortly',
      { reason: `usage-metering ${why}`, headers: { 'retry-after': '5' } },
    );
  }

  /** Keeps a recent view of whether a hard limit applies to the user (for the fail-open rule). */
  private refreshViewSoon(userId: string, teamId?: string): void {
    const view = this.views.get(userId);
    const maxAge = (this.settings.BUDGET_FAIL_OPEN_MAX_AGE_SECONDS * 1000) / 2;
    if ((view && Date.now() - view.at < maxAge) || this.refreshing.has(userId)) return;
    this.refreshing.add(userId);
    const query = teamId ? `?teamId=${encodeURIComponent(teamId)}` : '';
    this.client
      .request<SpendResponse>('GET', `/internal/v1/spend/users/${encodeURIComponent(userId)}${query}`)
      .then((spend) => {
        const hardLimit =
          !!spend.day?.hardUsd || (spend.budgets ?? []).some((b) => b.hardUsd !== null && b.hardUsd !== undefined);
        if (this.views.size > 100_000) this.views.clear();
        this.views.set(userId, { hardLimit, at: Date.now() });
      })
      .catch(() => undefined)
      .finally(() => this.refreshing.delete(userId));
  }
}
