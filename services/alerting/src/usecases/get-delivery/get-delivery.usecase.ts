import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { DeliveriesRepository } from '../../repositories/deliveries.repository';
import { validated } from '../command';
import { presentDelivery } from '../presenters';

export class GetDeliveryCommand {
  @IsUUID()
  id!: string;

  constructor(init?: Partial<GetDeliveryCommand>) {
    Object.assign(this, init);
  }
}

@Injectable()
export class GetDeliveryUseCase {
  constructor(private readonly deliveries: DeliveriesRepository) {}

  async execute(command: GetDeliveryCommand) {
    await validated(command);
    const d = await this.deliveries.get(command.id);
    if (!d) throw ApiError.notFound('delivery', command.id);
    return presentDelivery(d, await this.deliveries.attempts([d.id]));
  }
}
