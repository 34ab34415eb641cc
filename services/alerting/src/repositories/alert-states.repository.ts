import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { SqlExecutor } from '@hishamos/persistence';

export interface AlertStateRow {
  rule_id: string;
  entity: string;
  dedup_key: string;
  firing: boolean;
  pending: boolean;
  open_alert_id: string | null;
  last_notified_at: Date | null;
  cooldown_until: Date | null;
  suppressed: number;
  last_value: string | null;
  last_context: Record<string, unknown> | null;
  updated_at: Date;
  /** The transaction's clock, so cooldown decisions use the database's time, not a replica's. */
  now: Date;
  in_cooldown: boolean;
}

export interface ActiveAlertRow {
  rule_id: string;
  rule_name: string;
  severity: string;
  entity: string;
  dedup_key: string;
  firing: boolean;
  pending: boolean;
  open_alert_id: string | null;
  last_notified_at: Date | null;
  cooldown_until: Date | null;
  suppressed: number;
  last_value: string | null;
  updated_at: Date;
}

@Injectable()
export class AlertStatesRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  /**
   * The rule and entity's state, row-locked until the transaction ends (created when absent). A second
   * replica deciding for the same rule and entity waits here and then sees the first one's decision.
   */
  async lock(tx: SqlExecutor, ruleId: string, entity: string, dedupKey: string): Promise<AlertStateRow> {
    // One statement: ON CONFLICT DO UPDATE takes the row lock (waiting for another replica's decision to
    // commit) and returns the latest committed version, or creates the row.
    const [row] = await tx.query<AlertStateRow>(
      `INSERT INTO alert_states (rule_id, entity, dedup_key) VALUES ($1, $2, $3)
       ON CONFLICT (rule_id, entity) DO UPDATE SET dedup_key = alert_states.dedup_key
       RETURNING *, now() AS now, (cooldown_until IS NOT NULL AND cooldown_until > now()) AS in_cooldown`,
      [ruleId, entity, dedupKey],
    );
    return row;
  }

  /** The state, locked, only when it exists and there is something to clear. */
  async lockIfActive(tx: SqlExecutor, ruleId: string, entity: string): Promise<AlertStateRow | undefined> {
    const [row] = await tx.query<AlertStateRow>(
      `SELECT *, now() AS now, (cooldown_until IS NOT NULL AND cooldown_until > now()) AS in_cooldown
       FROM alert_states WHERE rule_id = $1 AND entity = $2 AND (firing OR pending OR open_alert_id IS NOT NULL)
       FOR UPDATE`,
      [ruleId, entity],
    );
    return row;
  }

  async markNotified(
    tx: SqlExecutor,
    ruleId: string,
    entity: string,
    s: { firing: boolean; openAlertId: string | null; cooldownSeconds: number; value?: string; context: object },
  ): Promise<void> {
    await tx.query(
      `UPDATE alert_states SET firing = $3, pending = false, open_alert_id = $4, last_notified_at = now(),
         cooldown_until = now() + $5 * interval '1 second', suppressed = 0, last_value = $6, last_context = $7::jsonb,
         updated_at = now()
       WHERE rule_id = $1 AND entity = $2`,
      [ruleId, entity, s.firing, s.openAlertId, s.cooldownSeconds, s.value ?? null, JSON.stringify(s.context)],
    );
  }

  async markSuppressed(
    tx: SqlExecutor,
    ruleId: string,
    entity: string,
    s: { firing: boolean; pending: boolean; value?: string; context: object },
  ): Promise<void> {
    await tx.query(
      `UPDATE alert_states SET suppressed = suppressed + 1, firing = $3, pending = $4, last_value = $5,
         last_context = $6::jsonb, updated_at = now()
       WHERE rule_id = $1 AND entity = $2`,
      [ruleId, entity, s.firing, s.pending, s.value ?? null, JSON.stringify(s.context)],
    );
  }

  async markOngoing(
    tx: SqlExecutor,
    ruleId: string,
    entity: string,
    value: string | undefined,
    context: object,
  ): Promise<void> {
    await tx.query(
      `UPDATE alert_states SET last_value = $3, last_context = $4::jsonb, updated_at = now() WHERE rule_id = $1 AND entity = $2`,
      [ruleId, entity, value ?? null, JSON.stringify(context)],
    );
  }

  async markCleared(tx: SqlExecutor, ruleId: string, entity: string): Promise<void> {
    await tx.query(
      `UPDATE alert_states SET firing = false, pending = false, open_alert_id = NULL, updated_at = now()
       WHERE rule_id = $1 AND entity = $2`,
      [ruleId, entity],
    );
  }

  /** Pending alerts whose cooldown is over, locked (other replicas skip them). */
  dueToNotify(tx: SqlExecutor, limit: number): Promise<AlertStateRow[]> {
    return tx.query<AlertStateRow>(
      `SELECT *, now() AS now, false AS in_cooldown FROM alert_states
       WHERE pending AND firing AND cooldown_until <= now()
       ORDER BY rule_id, entity LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  /** Entities of a rule whose alert is firing, pending or open. */
  async activeEntities(ex: SqlExecutor, ruleId: string): Promise<string[]> {
    const rows = await ex.query<{ entity: string }>(
      `SELECT entity FROM alert_states WHERE rule_id = $1 AND (firing OR pending OR open_alert_id IS NOT NULL)`,
      [ruleId],
    );
    return rows.map((r) => r.entity);
  }

  async deleteForRule(tx: SqlExecutor, ruleId: string): Promise<void> {
    await tx.query(`DELETE FROM alert_states WHERE rule_id = $1`, [ruleId]);
  }

  active(ex: SqlExecutor = this.ctx.db): Promise<ActiveAlertRow[]> {
    return ex.query<ActiveAlertRow>(
      `SELECT s.rule_id, r.name AS rule_name, r.severity, s.entity, s.dedup_key, s.firing, s.pending, s.open_alert_id,
         s.last_notified_at, s.cooldown_until, s.suppressed, s.last_value, s.updated_at
       FROM alert_states s JOIN alert_rules r ON r.id = s.rule_id
       WHERE s.firing OR s.pending OR s.open_alert_id IS NOT NULL
       ORDER BY s.updated_at DESC LIMIT 500`,
    );
  }
}
