import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AlertState, Topics } from '@hishamos/contracts';
import { commitHooksOf, type Outbox } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { JsonObject } from '@bufbuild/protobuf';
import { AlertingMetrics } from '../alerting.metrics';
import { ChannelRegistry } from '../channels/channel-registry';
import type { Scope, Value } from '../domain/expression/expression';
import { formatValue } from '../domain/template/message-template';
import type { CompiledRule } from '../domain/rule-definition';
import { AlertStatesRepository, type AlertStateRow } from '../repositories/alert-states.repository';
import { AlertsRepository } from '../repositories/alerts.repository';
import { DeliveriesRepository, type NewDelivery } from '../repositories/deliveries.repository';
import { DeliveryWaker } from './delivery-waker';
import { RuleCache } from './rule-cache';

export const GLOBAL_ENTITY = 'global';
const MAX_ENTITY = 200;

/** PagerDuty's dedup_key and the state key: stable per rule and entity (hashed when long; PagerDuty allows 255). */
export function dedupKeyOf(ruleId: string, entity: string): string {
  const key = `hishamos:${ruleId}:${entity}`;
  return key.length <= 255 ? key : `hishamos:${ruleId}:${createHash('sha256').update(entity).digest('hex')}`;
}

/** The entity an alert is about: the rule's entity expression's value, or `global`. */
export function entityOf(rule: CompiledRule, scope: Scope): string {
  if (!rule.entity) return GLOBAL_ENTITY;
  const v = rule.entity.evaluate(scope);
  const s = formatValue(v);
  return s ? s.slice(0, MAX_ENTITY) : '(none)';
}

/** The data shown with an alert (Slack fields, PagerDuty custom details): plain values, maps one level deep. */
export function displayFields(context: Record<string, unknown>, limit = 24): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  const put = (k: string, v: unknown) => {
    if (n >= limit || v === null || v === undefined || v === '') return;
    if (typeof v === 'object') return;
    out[k] = String(v).slice(0, 300);
    n++;
  };
  for (const [k, v] of Object.entries(context)) {
    if (['rule_name', 'severity', 'event_type'].includes(k)) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) put(`${k}.${k2}`, v2);
    } else put(k, v);
  }
  return out;
}

export type FireOutcome = 'notified' | 'suppressed' | 'ongoing' | 'duplicate';
export type ClearOutcome = 'resolved' | 'cleared' | 'none';

export interface FireOptions {
  /** event | metric | alertmanager | signal | tick */
  source: string;
  sourceEventId?: string;
  /** The metric value, kept on the state. */
  value?: string;
}

/**
 * Decides, inside the caller's transaction, whether a rule firing (or clearing) for an entity notifies,
 * and records the decision: the alert in the history, one delivery per channel, AlertFired in the
 * outbox. The decision locks the rule and entity's state row, so across replicas and restarts there is
 * one notification per rule and entity per cooldown window: the second replica waits for the first's
 * commit and then sees its cooldown.
 */
@Injectable()
export class AlertEngine {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly states: AlertStatesRepository,
    private readonly alerts: AlertsRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly cache: RuleCache,
    private readonly registry: ChannelRegistry,
    private readonly waker: DeliveryWaker,
    private readonly metrics: AlertingMetrics,
  ) {}

  async fire(
    tx: SqlExecutor,
    outbox: Outbox,
    rule: CompiledRule,
    entity: string,
    scope: Scope,
    opts: FireOptions,
  ): Promise<FireOutcome> {
    const dedupKey = dedupKeyOf(rule.id, entity);
    if (!rule.stateful && rule.cooldownSeconds === 0) {
      // No cooldown and nothing to resolve (the seed's "workflow failed"): every event notifies, once.
      const id = await this.notify(tx, outbox, rule, entity, dedupKey, 'trigger', scope, opts);
      return id ? 'notified' : 'duplicate';
    }
    const state = await this.states.lock(tx, rule.id, entity, dedupKey);
    if (rule.stateful && state.firing && state.open_alert_id) {
      // Already notified and still firing: repeat only when the cooldown is set and over.
      if (rule.cooldownSeconds === 0 || state.in_cooldown) {
        await this.states.markOngoing(tx, rule.id, entity, opts.value, scope);
        return 'ongoing';
      }
    } else if (state.in_cooldown) {
      // Stateful rules remember it: if it still holds when the window ends, the ticker notifies then.
      await this.states.markSuppressed(tx, rule.id, entity, {
        firing: rule.stateful,
        pending: rule.stateful,
        value: opts.value,
        context: scope,
      });
      this.metrics.alertSuppressed(rule.definition.name);
      return 'suppressed';
    }
    const id = await this.notify(tx, outbox, rule, entity, dedupKey, 'trigger', scope, opts, state.suppressed);
    if (!id) return 'duplicate';
    await this.states.markNotified(tx, rule.id, entity, {
      firing: rule.stateful,
      openAlertId: rule.stateful ? id : null,
      cooldownSeconds: rule.cooldownSeconds,
      value: opts.value,
      context: scope,
    });
    return 'notified';
  }

  /** The condition no longer holds for the entity: resolve its open alert (PagerDuty resolve, same dedup_key). */
  async clear(
    tx: SqlExecutor,
    outbox: Outbox,
    rule: CompiledRule,
    entity: string,
    opts: FireOptions,
  ): Promise<ClearOutcome> {
    const state = await this.states.lockIfActive(tx, rule.id, entity);
    if (!state) return 'none';
    let outcome: ClearOutcome = 'cleared';
    if (state.open_alert_id) {
      // The resolve repeats what the trigger said (not the last value seen while it was firing).
      const trigger = await this.alerts.get(state.open_alert_id, tx);
      const scope = (trigger?.context ?? state.last_context ?? {}) as Scope;
      await this.notify(tx, outbox, rule, entity, state.dedup_key, 'resolve', scope, opts, 0, state.open_alert_id);
      await this.alerts.markResolved(tx, state.dedup_key);
      outcome = 'resolved';
    }
    await this.states.markCleared(tx, rule.id, entity);
    return outcome;
  }

  /** Resolves every open alert of a rule (it is being disabled, deleted or retargeted). */
  async resolveAll(tx: SqlExecutor, outbox: Outbox, rule: CompiledRule, source: string): Promise<number> {
    let n = 0;
    for (const entity of (await this.states.activeEntities(tx, rule.id)).sort())
      if ((await this.clear(tx, outbox, rule, entity, { source })) === 'resolved') n++;
    return n;
  }

  /** A pending alert (it started during a cooldown) whose window is over and that still holds: notify now. */
  async notifyPending(tx: SqlExecutor, outbox: Outbox, state: AlertStateRow): Promise<boolean> {
    const snapshot = await this.cache.current(tx);
    const rule = snapshot.byId.get(state.rule_id);
    if (!rule || !rule.enabled) {
      await this.states.markCleared(tx, state.rule_id, state.entity);
      return false;
    }
    const scope = (state.last_context ?? {}) as Scope;
    const id = await this.notify(
      tx,
      outbox,
      rule,
      state.entity,
      state.dedup_key,
      'trigger',
      scope,
      { source: 'tick' },
      state.suppressed,
    );
    if (!id) return false;
    await this.states.markNotified(tx, rule.id, state.entity, {
      firing: true,
      openAlertId: id,
      cooldownSeconds: rule.cooldownSeconds,
      value: state.last_value ?? undefined,
      context: scope,
    });
    return true;
  }

  private async notify(
    tx: SqlExecutor,
    outbox: Outbox,
    rule: CompiledRule,
    entity: string,
    dedupKey: string,
    action: 'trigger' | 'resolve',
    scope: Scope,
    opts: FireOptions,
    suppressedBefore = 0,
    resolvesAlertId: string | null = null,
  ): Promise<string | undefined> {
    const def = rule.definition;
    const id = randomUUID();
    const rendered = rule.template.render(scope);
    const message = action === 'resolve' ? `Resolved: ${rendered}` : rendered;
    const title = entity === GLOBAL_ENTITY ? def.name : `${def.name} (${entity})`;
    const inserted = await this.alerts.insert(tx, {
      id,
      ruleId: rule.id,
      ruleName: def.name,
      entity,
      dedupKey,
      action,
      severity: def.severity,
      title,
      message,
      context: scope as Record<string, unknown>,
      source: opts.source,
      sourceEventId: opts.sourceEventId,
      resolvesAlertId,
      suppressedBefore,
    });
    if (!inserted) return undefined;
    const snapshot = await this.cache.current(tx);
    const rows: NewDelivery[] = [];
    for (const name of def.channels) {
      const channel = snapshot.channels.get(name);
      if (!channel) {
        rows.push({
          id: randomUUID(),
          channelName: name,
          channelType: 'unknown',
          status: 'skipped',
          error: `channel ${name} does not exist`,
        });
        continue;
      }
      const adapter = this.registry.has(channel.type) ? this.registry.get(channel.type) : undefined;
      if (action === 'resolve' && !(adapter?.tracksIncidents || def.notifyResolved !== false)) continue;
      if (!adapter)
        rows.push({
          id: randomUUID(),
          channelName: name,
          channelType: channel.type,
          status: 'skipped',
          error: `no adapter for channel type ${channel.type}`,
        });
      else if (!channel.enabled)
        rows.push({
          id: randomUUID(),
          channelName: name,
          channelType: channel.type,
          status: 'skipped',
          error: `channel ${name} is disabled`,
        });
      else rows.push({ id: randomUUID(), channelName: name, channelType: channel.type, status: 'pending' });
    }
    await this.deliveries.insertMany(tx, id, action, rows);
    await outbox.add(
      tx,
      Topics.AlertFired,
      {
        alertId: id,
        ruleId: rule.id,
        ruleName: def.name,
        severity: def.severity,
        entity,
        message,
        context: toStruct(scope),
        state: action === 'resolve' ? AlertState.RESOLVED : AlertState.FIRING,
      },
      { key: dedupKey },
    );
    this.metrics.alertNotified(def.name, def.severity, action);
    if (rows.some((r) => r.status === 'pending')) {
      const hooks = commitHooksOf(tx);
      if (hooks) hooks.onCommit(() => this.waker.wake());
      else this.waker.wakeSoon();
    }
    this.ctx.logger.info({ rule: def.name, entity, action, alert: id, channels: rows.length }, 'alert notified');
    return id;
  }
}

function toStruct(scope: Scope): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(scope)) out[k] = jsonOf(v);
  return out;
}

function jsonOf(v: Value): JsonObject[string] {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(jsonOf);
  return toStruct(v as Scope);
}
