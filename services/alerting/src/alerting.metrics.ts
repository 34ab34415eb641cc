import { Inject, Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';

/** The alerting service's own series (rule names are bounded, operator-defined labels; no user ids). */
@Injectable()
export class AlertingMetrics {
  private readonly notified: Counter;
  private readonly suppressed: Counter;
  private readonly deliveries: Counter;
  private readonly deliverySeconds: Histogram;
  private readonly evaluated: Counter;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    const registers = [ctx.metrics.registry];
    this.notified = new Counter({
      name: 'hishamos_alerts_notified_total',
      help: 'Alert notifications decided (trigger or resolve), per rule',
      labelNames: ['rule', 'severity', 'action'],
      registers,
    });
    this.suppressed = new Counter({
      name: 'hishamos_alerts_suppressed_total',
      help: 'Alert firings not notified because the rule and entity were in their cooldown window',
      labelNames: ['rule'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'hishamos_alert_delivery_attempts_total',
      help: 'Delivery attempts per channel type and outcome',
      labelNames: ['channel_type', 'outcome'],
      registers,
    });
    this.deliverySeconds = new Histogram({
      name: 'hishamos_alert_delivery_seconds',
      help: 'Time of one delivery attempt',
      labelNames: ['channel_type'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.evaluated = new Counter({
      name: 'hishamos_alerting_events_evaluated_total',
      help: 'Events evaluated against the alert rules',
      labelNames: ['event_type'],
      registers,
    });
  }

  alertNotified(rule: string, severity: string, action: string): void {
    this.notified.inc({ rule, severity, action });
  }

  alertSuppressed(rule: string): void {
    this.suppressed.inc({ rule });
  }

  deliveryAttempt(channelType: string, outcome: string, seconds: number): void {
    this.deliveries.inc({ channel_type: channelType, outcome });
    this.deliverySeconds.observe({ channel_type: channelType }, seconds);
  }

  eventEvaluated(eventType: string): void {
    this.evaluated.inc({ event_type: eventType });
  }
}
