import { Injectable } from '@nestjs/common';
import type { BudgetPort, Reservation } from './budget.port';

/** BUDGET_BACKEND=none: nothing is reserved (usage is still recorded and priced by usage-metering). */
@Injectable()
export class NoBudgetAdapter implements BudgetPort {
  async reserve(): Promise<Reservation> {
    return { amountUsd: '0', metered: false };
  }
  async release(): Promise<void> {}
}
