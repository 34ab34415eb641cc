import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { EventTypeName } from '../domain/event-types';
import { compileRule, type CompiledRule } from '../domain/rule-definition';
import { ChannelsRepository, type ChannelRow } from '../repositories/channels.repository';
import { definitionOf, RulesRepository } from '../repositories/rules.repository';

/** Rules compiled once, and the channels, as of one configuration revision. */
export interface RuleSnapshot {
  readonly revision: number;
  /** Enabled rules per event type, ordered by id (a stable lock order across replicas). */
  readonly byType: ReadonlyMap<EventTypeName, readonly CompiledRule[]>;
  /** Every rule, enabled or not. */
  readonly byId: ReadonlyMap<string, CompiledRule & { enabled: boolean }>;
  readonly channels: ReadonlyMap<string, ChannelRow>;
}

/**
 * The compiled rules every evaluation uses. It re-reads them when the configuration revision (bumped
 * in the same transaction as every rule or channel change, by any replica) has moved, checking at most
 * once per `checkEveryMs`; a change made here is seen at once.
 */
@Injectable()
export class RuleCache {
  private snapshot?: RuleSnapshot;
  private checkedAt = 0;
  private loading?: Promise<RuleSnapshot>;
  checkEveryMs = 1000;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly rules: RulesRepository,
    private readonly channels: ChannelsRepository,
  ) {}

  /**
   * The current snapshot. Inside a transaction pass it as `ex`: the check then runs on the transaction's
   * connection (an embedded database has only one).
   */
  async current(ex?: SqlExecutor): Promise<RuleSnapshot> {
    if (this.snapshot && Date.now() - this.checkedAt < this.checkEveryMs) return this.snapshot;
    if (ex) return this.refresh(ex);
    if (this.loading) return this.loading;
    this.loading = this.refresh(this.ctx.db).finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** The next `current()` re-reads (after a change made by this replica). */
  invalidate(): void {
    this.checkedAt = 0;
    this.snapshot = undefined;
  }

  private async refresh(ex: SqlExecutor): Promise<RuleSnapshot> {
    const revision = await this.rules.revision(ex);
    this.checkedAt = Date.now();
    if (this.snapshot && this.snapshot.revision === revision) return this.snapshot;
    const rows = await this.rules.list({}, ex);
    const channelRows = await this.channels.list(ex);
    const channels = new Map(channelRows.map((c) => [c.name, c]));
    const names = new Set(channels.keys());
    const byId = new Map<string, CompiledRule & { enabled: boolean }>();
    const byType = new Map<EventTypeName, CompiledRule[]>();
    for (const row of rows) {
      let compiled: CompiledRule;
      try {
        compiled = compileRule(definitionOf(row), names, row.id, row.revision);
      } catch (error) {
        // Saved rules were valid when saved; one that no longer compiles is reported, not evaluated.
        this.ctx.logger.error(
          { rule: row.name, err: (error as Error).message },
          'alert rule does not compile; skipped',
        );
        continue;
      }
      byId.set(row.id, { ...compiled, enabled: row.enabled });
      if (!row.enabled) continue;
      const list = byType.get(compiled.eventType) ?? [];
      list.push(compiled);
      byType.set(compiled.eventType, list);
    }
    for (const list of byType.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.snapshot = { revision, byType, byId, channels };
    return this.snapshot;
  }
}
