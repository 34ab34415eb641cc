import type { ActiveAlertRow } from '../repositories/alert-states.repository';
import type { AlertRow } from '../repositories/alerts.repository';
import type { ChannelRow } from '../repositories/channels.repository';
import type { DeliveryAttemptRow, DeliveryRow } from '../repositories/deliveries.repository';
import type { NotificationRow } from '../repositories/notifications.repository';
import type { RuleRow } from '../repositories/rules.repository';

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function presentRule(r: RuleRow) {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    kind: r.kind,
    eventType: r.event_type,
    condition: r.condition,
    entity: r.entity,
    resolveWhen: r.resolve_when,
    metric: r.metric,
    severity: r.severity,
    channels: r.channels,
    cooldownMinutes: Number(r.cooldown_minutes),
    messageTemplate: r.message_template,
    notifyResolved: r.notify_resolved,
    enabled: r.enabled,
    builtin: r.builtin,
    revision: r.revision,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export function presentChannel(c: ChannelRow) {
  return {
    id: c.id,
    name: c.name,
    type: c.type,
    config: c.config,
    secretPath: c.secret_path,
    enabled: c.enabled,
    builtin: c.builtin,
    createdAt: iso(c.created_at),
    updatedAt: iso(c.updated_at),
  };
}

export function presentAlert(a: AlertRow) {
  return {
    id: a.id,
    ruleId: a.rule_id,
    ruleName: a.rule_name,
    entity: a.entity,
    dedupKey: a.dedup_key,
    action: a.action,
    severity: a.severity,
    title: a.title,
    message: a.message,
    context: a.context,
    source: a.source,
    sourceEventId: a.source_event_id,
    resolvesAlertId: a.resolves_alert_id,
    resolvedAt: iso(a.resolved_at),
    suppressedBefore: a.suppressed_before,
    createdAt: iso(a.created_at),
  };
}

export function presentActive(s: ActiveAlertRow) {
  return {
    ruleId: s.rule_id,
    ruleName: s.rule_name,
    severity: s.severity,
    entity: s.entity,
    dedupKey: s.dedup_key,
    firing: s.firing,
    pending: s.pending,
    openAlertId: s.open_alert_id,
    lastNotifiedAt: iso(s.last_notified_at),
    cooldownUntil: iso(s.cooldown_until),
    suppressed: s.suppressed,
    lastValue: s.last_value,
    updatedAt: iso(s.updated_at),
  };
}

export function presentAttempt(a: DeliveryAttemptRow) {
  return {
    attempt: a.attempt,
    outcome: a.outcome,
    statusCode: a.status_code,
    error: a.error,
    durationMs: a.duration_ms,
    attemptedAt: iso(a.attempted_at),
  };
}

export function presentDelivery(d: DeliveryRow, attempts?: DeliveryAttemptRow[]) {
  return {
    id: d.id,
    alertId: d.alert_id,
    channel: d.channel_name,
    channelType: d.channel_type,
    action: d.action,
    status: d.status,
    attempts: d.attempts,
    lastError: d.last_error,
    lastStatusCode: d.last_status_code,
    nextAttemptAt: ['pending', 'retrying'].includes(d.status) ? iso(d.next_attempt_at) : null,
    createdAt: iso(d.created_at),
    updatedAt: iso(d.updated_at),
    deliveredAt: iso(d.delivered_at),
    ...(attempts ? { attemptLog: attempts.map(presentAttempt) } : {}),
  };
}

export function presentNotification(n: NotificationRow) {
  return {
    id: n.id,
    title: n.title,
    message: n.message,
    type: n.type,
    isRead: n.is_read,
    readAt: iso(n.read_at),
    source: n.source,
    link: n.link,
    createdAt: iso(n.created_at),
  };
}
