import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { Public } from '@hishamos/platform';
import {
  ReceiveAlertmanagerWebhookCommand,
  ReceiveAlertmanagerWebhookUseCase,
} from '../usecases/receive-alertmanager-webhook/receive-alertmanager-webhook.usecase';
import { AlertmanagerTokenGuard } from './alertmanager-token.guard';

/** Alertmanager's webhook receiver (deploy/alertmanager/alertmanager.example.yml, receiver hishamos-alerting). */
@Controller('v1/alertmanager')
export class AlertmanagerController {
  constructor(private readonly receive: ReceiveAlertmanagerWebhookUseCase) {}

  @Public()
  @UseGuards(AlertmanagerTokenGuard)
  @Post('webhook')
  @HttpCode(200)
  webhook(@Body() body: unknown) {
    return this.receive.execute(new ReceiveAlertmanagerWebhookCommand({ body }));
  }
}
