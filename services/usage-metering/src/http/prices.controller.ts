import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { ListPricesCommand, ListPricesUseCase } from '../usecases/list-prices/list-prices.usecase';
import { SetPriceCommand, SetPriceUseCase } from '../usecases/set-price/set-price.usecase';
import { actor } from './access';

/** The model price table: everyone reads it, admins edit it. */
@Controller('v1/prices')
export class PricesController {
  constructor(
    private readonly listPrices: ListPricesUseCase,
    private readonly setPrice: SetPriceUseCase,
  ) {}

  @Get()
  list(@Query() command: ListPricesCommand) {
    return this.listPrices.execute(command);
  }

  @RequireRoles('admin')
  @Put()
  set(@Body() command: SetPriceCommand, @CurrentIdentity() identity: Identity) {
    command.setBy = actor(identity);
    return this.setPrice.execute(command);
  }
}
