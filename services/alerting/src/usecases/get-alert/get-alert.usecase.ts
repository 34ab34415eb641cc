import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { AlertsRepository } from '../../repositories/alerts.repository';
import { DeliveriesRepository } from '../../repositories/deliveries.repository';
import { validated } from '../command';
import { presentAlert, presentDelivery } from '../presenters';

export class GetAlertCommand {
  @IsUUID()
  id!: string;

  constructor(init?: Partial<GetAlertCommand>) {
    Object.assign(this, init);
  }
}

/** One alert with its deliveries and every attempt. */
@Injectable()
export class GetAlertUseCase {
  constructor(
    private readonly alerts: AlertsRepository,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  async execute(command: GetAlertCommand) {
    await validated(command);
    const alert = await this.alerts.get(command.id);
    if (!alert) throw ApiError.notFound('alert', command.id);
    const deliveries = await this.deliveries.forAlert(alert.id);
    const attempts = await this.deliveries.attempts(deliveries.map((d) => d.id));
    return {
      ...presentAlert(alert),
      deliveries: deliveries.map((d) =>
        presentDelivery(
          d,
          attempts.filter((a) => a.delivery_id === d.id),
        ),
      ),
    };
  }
}
