import { Inject, Injectable } from '@nestjs/common';
import {
  ApiError,
  InternalHttpClient,
  InternalHttpError,
  SERVICE_CONTEXT,
  type Identity,
  type ServiceContext,
} from '@hishamos/platform';

/**
 * Per-user daily budgets live at usage-metering (it owns budgets). The user API forwards them to
 * metering's `/v1/budgets` on behalf of the admin who made the change; any failure fails the request.
 */
@Injectable()
export class MeteringBudgetClient {
  private readonly client: InternalHttpClient;

  constructor(@Inject(SERVICE_CONTEXT) ctx: Pick<ServiceContext, 'urlOf' | 'config' | 'name'>) {
    this.client = new InternalHttpClient({
      baseUrl: () => ctx.urlOf('usage-metering'),
      serviceToken: ctx.config.SERVICE_TOKEN ?? '',
      caller: ctx.name,
      timeoutMs: 5000,
    });
  }

  /** Sets the user's daily hard limit (a decimal string of US dollars). */
  async setDailyBudget(userId: string, amountUsd: string, onBehalfOf: Identity): Promise<void> {
    try {
      await this.client.request('PUT', '/v1/budgets', {
        body: { scope: 'user', scopeId: userId, period: 'day', hardUsd: amountUsd },
        onBehalfOf,
      });
    } catch (error) {
      if (error instanceof InternalHttpError && error.status >= 400 && error.status < 500) {
        const upstream = (error.body as { error?: { message?: string } } | undefined)?.error?.message;
        throw new ApiError(
          400,
          'budget_rejected',
          `usage-metering refused the daily budget: ${upstream ?? `HTTP ${error.status}`}`,
          { field: 'dailyBudgetUsd', reason: upstream ?? 'rejected by usage-metering' },
        );
      }
      const reason =
        error instanceof InternalHttpError
          ? `HTTP ${error.status}`
          : (error as Error).name === 'TimeoutError'
            ? 'timed out'
            : 'unreachable';
      throw new ApiError(
        502,
        'budget_unavailable',
        `could not set the daily budget: usage-metering ${reason}; nothing was changed`,
        { field: 'dailyBudgetUsd', reason: `usage-metering ${reason}` },
      );
    }
  }
}
