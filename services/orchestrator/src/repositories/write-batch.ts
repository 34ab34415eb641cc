import type { SqlExecutor } from '@hishamos/persistence';

/**
 * Several independent writes sent as one statement (data-modifying CTEs: `WITH w0 AS (INSERT …), w1 AS
 * (UPDATE …) INSERT …`), one round trip instead of one per write. The writes must not depend on each other's
 * effects: every part sees the same snapshot, and none sees the rows another part writes.
 */
export class WriteBatch {
  private readonly parts: string[] = [];
  private readonly params: unknown[] = [];

  /** A parameter placeholder for `value`. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** Adds one INSERT, UPDATE or DELETE (without a RETURNING clause). */
  add(sql: string): void {
    this.parts.push(sql);
  }

  get size(): number {
    return this.parts.length;
  }

  async run(tx: SqlExecutor): Promise<void> {
    if (this.parts.length === 0) return;
    const last = this.parts[this.parts.length - 1];
    const ctes = this.parts.slice(0, -1).map((sql, i) => `w${i} AS (${sql})`);
    await tx.query(ctes.length > 0 ? `WITH ${ctes.join(',\n')}\n${last}` : last, this.params);
  }
}
