import { Controller, Get, Param, Query } from '@nestjs/common';
import { RequireRoles } from '@hishamos/platform';
import { GetDeliveryCommand, GetDeliveryUseCase } from '../usecases/get-delivery/get-delivery.usecase';
import { ListDeliveriesCommand, ListDeliveriesUseCase } from '../usecases/list-deliveries/list-deliveries.usecase';
import { READERS } from './roles';

/** Every delivery with its attempts: channel, status, attempts, error. */
@Controller('v1/deliveries')
export class DeliveriesController {
  constructor(
    private readonly list: ListDeliveriesUseCase,
    private readonly get: GetDeliveryUseCase,
  ) {}

  @RequireRoles(...READERS)
  @Get()
  index(@Query() query: ListDeliveriesCommand) {
    return this.list.execute(query);
  }

  @RequireRoles(...READERS)
  @Get(':id')
  show(@Param('id') id: string) {
    return this.get.execute(new GetDeliveryCommand({ id }));
  }
}
