import { Injectable } from '@nestjs/common';
import { AlertStatesRepository } from '../../repositories/alert-states.repository';
import { presentActive } from '../presenters';

export class ListActiveAlertsCommand {}

/** Rules and entities whose condition holds now, or whose alert is open or waiting for its cooldown. */
@Injectable()
export class ListActiveAlertsUseCase {
  constructor(private readonly states: AlertStatesRepository) {}

  async execute(_command: ListActiveAlertsCommand) {
    return { data: (await this.states.active()).map(presentActive) };
  }
}
