import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { settingsOf, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AlertingMetrics } from '../alerting.metrics';
import { ChannelRegistry } from '../channels/channel-registry';
import type { ChannelMessage, ChannelType, DeliveryOutcome } from '../channels/notification-channel';
import type { AlertingSettings } from '../config/alerting.settings';
import type { Severity } from '../domain/rule-definition';
import { AlertsRepository, type AlertRow } from '../repositories/alerts.repository';
import { ChannelsRepository } from '../repositories/channels.repository';
import { DeliveriesRepository, type DeliveryRow } from '../repositories/deliveries.repository';
import { CHANNEL_SECRETS, ChannelSecretError, type ChannelSecrets } from '../secrets/channel-secrets';
import { displayFields } from './alert-engine';
import { DeliveryWaker } from './delivery-waker';

const POLL_MS = 500;

export function channelMessage(alert: AlertRow, delivery: Pick<DeliveryRow, 'id' | 'action'>): ChannelMessage {
  return {
    deliveryId: delivery.id,
    alertId: alert.id,
    action: delivery.action,
    ruleId: alert.rule_id,
    ruleName: alert.rule_name,
    entity: alert.entity,
    severity: alert.severity as Severity,
    title: alert.title,
    text: alert.message,
    dedupKey: alert.dedup_key,
    source: alert.source,
    fields: displayFields(alert.context),
    createdAt: new Date(alert.created_at),
  };
}

/** Backoff before attempt n+1: base * 2^(n-1), at least the peer's Retry-After, at most the maximum. */
export function retryDelayMs(attempts: number, base: number, max: number, retryAfterMs?: number): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempts - 1));
  return Math.min(max, Math.max(exp, retryAfterMs ?? 0));
}

/**
 * Sends deliveries: claims due ones (a lease, so one replica sends each), sends each through its
 * channel's adapter with the credential from the secrets service, and records every attempt. Channels
 * run concurrently, so a slow or failing one does not hold back the others; failures are retried with
 * backoff (429 and 5xx, never a rejected request) and then recorded failed. Durable: retries are rows,
 * so they survive restarts, and a sender that dies mid-attempt loses its lease to another.
 */
@Injectable()
export class DeliveryWorker implements OnModuleDestroy {
  private running = false;
  private loop?: Promise<void>;
  private readonly inflight = new Set<Promise<void>>();
  private wakeUp?: () => void;
  private woken = false;
  private readonly settings: AlertingSettings;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly deliveries: DeliveriesRepository,
    private readonly alerts: AlertsRepository,
    private readonly channels: ChannelsRepository,
    private readonly registry: ChannelRegistry,
    @Inject(CHANNEL_SECRETS) private readonly secrets: ChannelSecrets,
    private readonly waker: DeliveryWaker,
    private readonly metrics: AlertingMetrics,
  ) {
    this.settings = settingsOf<AlertingSettings>(ctx);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.waker.listen(() => this.wake());
    this.loop = this.run();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  /** Stops claiming, lets the attempts in flight finish and record. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.inflight]);
  }

  private async run(): Promise<void> {
    const leaseMs = this.settings.ALERTING_DELIVERY_TIMEOUT_MS + 30_000;
    while (this.running) {
      this.woken = false;
      const free = this.settings.ALERTING_DELIVERY_CONCURRENCY - this.inflight.size;
      let claimed: DeliveryRow[] = [];
      if (free > 0) {
        try {
          claimed = await this.deliveries.claimDue(free, leaseMs);
        } catch (error) {
          if (this.running) this.ctx.logger.warn({ err: (error as Error).message }, 'claiming deliveries failed');
        }
      }
      for (const d of claimed) {
        const p: Promise<void> = this.attempt(d)
          .catch((error) =>
            this.ctx.logger.error({ err: (error as Error).message, delivery: d.id }, 'delivery attempt crashed'),
          )
          .finally(() => {
            this.inflight.delete(p);
            this.wake();
          });
        this.inflight.add(p);
      }
      if (claimed.length > 0 && claimed.length === free) continue;
      if (this.woken || !this.running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async attempt(d: DeliveryRow): Promise<void> {
    const started = Date.now();
    const alert = await this.alerts.get(d.alert_id);
    let outcome: DeliveryOutcome;
    let secretPath: string | null = null;
    if (!alert) outcome = { ok: false, retryable: false, error: 'the alert no longer exists' };
    else {
      const channel = await this.channels.getByName(d.channel_name);
      if (!channel) outcome = { ok: false, retryable: false, error: `channel ${d.channel_name} no longer exists` };
      else if (!this.registry.has(channel.type))
        outcome = { ok: false, retryable: false, error: `no adapter for channel type ${channel.type}` };
      else {
        secretPath = channel.secret_path;
        const adapter = this.registry.get(channel.type);
        let secret: string | undefined;
        let secretError: DeliveryOutcome | undefined;
        if (channel.secret_path) {
          try {
            secret = await this.secrets.read(channel.secret_path);
          } catch (error) {
            const e = error as Error;
            secretError = {
              ok: false,
              retryable: error instanceof ChannelSecretError ? error.retryable : true,
              error: `credential: ${e.message}`,
            };
          }
        } else if (adapter.secretRequired) {
          secretError = { ok: false, retryable: false, error: `channel ${channel.name} names no secretPath` };
        }
        if (secretError) outcome = secretError;
        else {
          try {
            outcome = await adapter.send(
              channelMessage(alert, d),
              { name: channel.name, type: channel.type as ChannelType, config: channel.config },
              secret,
              AbortSignal.timeout(this.settings.ALERTING_DELIVERY_TIMEOUT_MS),
            );
          } catch (error) {
            outcome = { ok: false, retryable: true, error: `adapter error: ${(error as Error).message}` };
          }
        }
      }
    }
    const durationMs = Date.now() - started;
    if (!outcome.ok && outcome.credentialRejected && secretPath) this.secrets.invalidate(secretPath);
    let result: 'succeeded' | 'retry' | 'failed';
    let retryInMs: number | undefined;
    if (outcome.ok) result = 'succeeded';
    else {
      // A refused credential is retried once with a fresh read (it may have just rotated).
      const worthRetrying = outcome.retryable || (outcome.credentialRejected === true && d.attempts === 1);
      result = worthRetrying && d.attempts < this.settings.ALERTING_DELIVERY_MAX_ATTEMPTS ? 'retry' : 'failed';
      if (result === 'retry')
        retryInMs = retryDelayMs(
          d.attempts,
          this.settings.ALERTING_DELIVERY_BACKOFF_MS,
          this.settings.ALERTING_DELIVERY_MAX_BACKOFF_MS,
          outcome.retryAfterMs,
        );
    }
    await this.ctx.db.transaction((tx) =>
      this.deliveries.recordAttempt(
        tx,
        { id: d.id, attempt: d.attempts },
        {
          outcome: result,
          statusCode: outcome.statusCode,
          error: outcome.ok ? undefined : outcome.error,
          durationMs,
          retryInMs,
        },
      ),
    );
    this.metrics.deliveryAttempt(d.channel_type, result, durationMs / 1000);
    if (!outcome.ok)
      this.ctx.logger.warn(
        { delivery: d.id, channel: d.channel_name, attempt: d.attempts, result, error: outcome.error },
        'delivery attempt failed',
      );
  }
}
