import { Module } from '@nestjs/common';
import { InternalHttpClient, settingsOf, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AlertingMetrics } from './alerting.metrics';
import { AlertingRuntime } from './alerting.runtime';
import { ChannelRegistry } from './channels/channel-registry';
import type { AlertingSettings } from './config/alerting.settings';
import { AlertEngine } from './engine/alert-engine';
import { DeliveryWaker } from './engine/delivery-waker';
import { DeliveryWorker } from './engine/delivery.worker';
import { EvaluationTicker } from './engine/evaluation.ticker';
import { RuleCache } from './engine/rule-cache';
import { RuleEvaluator } from './engine/rule-evaluator';
import { AlertRulesController } from './http/alert-rules.controller';
import { AlertmanagerController } from './http/alertmanager.controller';
import { AlertmanagerTokenGuard } from './http/alertmanager-token.guard';
import { AlertsController } from './http/alerts.controller';
import { ChannelsController } from './http/channels.controller';
import { DeliveriesController } from './http/deliveries.controller';
import { NotificationsController } from './http/notifications.controller';
import { SignalsController } from './http/signals.controller';
import { AlertStatesRepository } from './repositories/alert-states.repository';
import { AlertsRepository } from './repositories/alerts.repository';
import { ChannelsRepository } from './repositories/channels.repository';
import { DeliveriesRepository } from './repositories/deliveries.repository';
import { MetricSamplesRepository } from './repositories/metric-samples.repository';
import { NotificationsRepository } from './repositories/notifications.repository';
import { RulesRepository } from './repositories/rules.repository';
import { CHANNEL_SECRETS, HttpChannelSecrets } from './secrets/channel-secrets';
import { CreateAlertRuleUseCase } from './usecases/create-alert-rule/create-alert-rule.usecase';
import { CreateChannelUseCase } from './usecases/create-channel/create-channel.usecase';
import { DeleteAlertRuleUseCase } from './usecases/delete-alert-rule/delete-alert-rule.usecase';
import { DeleteChannelUseCase } from './usecases/delete-channel/delete-channel.usecase';
import { EvaluateEventUseCase } from './usecases/evaluate-event/evaluate-event.usecase';
import { GetAlertRuleUseCase } from './usecases/get-alert-rule/get-alert-rule.usecase';
import { GetAlertUseCase } from './usecases/get-alert/get-alert.usecase';
import { GetDeliveryUseCase } from './usecases/get-delivery/get-delivery.usecase';
import { ListActiveAlertsUseCase } from './usecases/list-active-alerts/list-active-alerts.usecase';
import { ListAlertRulesUseCase } from './usecases/list-alert-rules/list-alert-rules.usecase';
import { ListAlertsUseCase } from './usecases/list-alerts/list-alerts.usecase';
import { ListChannelsUseCase } from './usecases/list-channels/list-channels.usecase';
import { ListDeliveriesUseCase } from './usecases/list-deliveries/list-deliveries.usecase';
import { ListNotificationsUseCase } from './usecases/list-notifications/list-notifications.usecase';
import { MarkAllNotificationsReadUseCase } from './usecases/mark-all-notifications-read/mark-all-notifications-read.usecase';
import { MarkNotificationReadUseCase } from './usecases/mark-notification-read/mark-notification-read.usecase';
import { NotifyUserUseCase } from './usecases/notify-user/notify-user.usecase';
import { ReceiveAlertmanagerWebhookUseCase } from './usecases/receive-alertmanager-webhook/receive-alertmanager-webhook.usecase';
import { RecordSignalUseCase } from './usecases/record-signal/record-signal.usecase';
import { SeedDefaultsUseCase } from './usecases/seed-defaults/seed-defaults.usecase';
import { SetAlertRuleEnabledUseCase } from './usecases/set-alert-rule-enabled/set-alert-rule-enabled.usecase';
import { TestChannelUseCase } from './usecases/test-channel/test-channel.usecase';
import { UpdateAlertRuleUseCase } from './usecases/update-alert-rule/update-alert-rule.usecase';
import { UpdateChannelUseCase } from './usecases/update-channel/update-channel.usecase';
import { ValidateAlertRuleUseCase } from './usecases/validate-alert-rule/validate-alert-rule.usecase';

/** The alerting service's use cases, controllers, repositories and adapters. */
@Module({
  controllers: [
    AlertRulesController,
    ChannelsController,
    AlertsController,
    DeliveriesController,
    NotificationsController,
    AlertmanagerController,
    SignalsController,
  ],
  providers: [
    {
      provide: ChannelRegistry,
      inject: [SERVICE_CONTEXT],
      useFactory: (ctx: ServiceContext) => {
        const s = settingsOf<AlertingSettings>(ctx);
        return ChannelRegistry.standard({
          pagerDutyEventsUrl: s.PAGERDUTY_EVENTS_URL,
          smsBaseUrl: s.SMS_API_BASE_URL,
          timeoutMs: s.ALERTING_DELIVERY_TIMEOUT_MS,
        });
      },
    },
    {
      provide: CHANNEL_SECRETS,
      inject: [SERVICE_CONTEXT],
      useFactory: (ctx: ServiceContext) =>
        new HttpChannelSecrets(
          new InternalHttpClient({
            baseUrl: () => ctx.urlOf('secrets'),
            serviceToken: ctx.config.SERVICE_TOKEN ?? '',
            caller: ctx.name,
          }),
          settingsOf<AlertingSettings>(ctx).ALERTING_SECRET_CACHE_TTL_MS,
        ),
    },
    AlertingMetrics,
    AlertingRuntime,
    AlertmanagerTokenGuard,
    RulesRepository,
    ChannelsRepository,
    AlertStatesRepository,
    AlertsRepository,
    DeliveriesRepository,
    MetricSamplesRepository,
    NotificationsRepository,
    RuleCache,
    DeliveryWaker,
    AlertEngine,
    RuleEvaluator,
    DeliveryWorker,
    EvaluationTicker,
    CreateAlertRuleUseCase,
    UpdateAlertRuleUseCase,
    DeleteAlertRuleUseCase,
    SetAlertRuleEnabledUseCase,
    ListAlertRulesUseCase,
    GetAlertRuleUseCase,
    ValidateAlertRuleUseCase,
    CreateChannelUseCase,
    UpdateChannelUseCase,
    DeleteChannelUseCase,
    ListChannelsUseCase,
    TestChannelUseCase,
    ListAlertsUseCase,
    GetAlertUseCase,
    ListActiveAlertsUseCase,
    ListDeliveriesUseCase,
    GetDeliveryUseCase,
    ListNotificationsUseCase,
    MarkNotificationReadUseCase,
    MarkAllNotificationsReadUseCase,
    EvaluateEventUseCase,
    NotifyUserUseCase,
    ReceiveAlertmanagerWebhookUseCase,
    RecordSignalUseCase,
    SeedDefaultsUseCase,
  ],
})
export class AlertingModule {}
