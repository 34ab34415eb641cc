import { Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import { DeliveriesRepository } from '../../repositories/deliveries.repository';
import { decodeCursor, encodeCursor, validated } from '../command';
import { presentDelivery } from '../presenters';

export class ListDeliveriesCommand {
  @IsOptional()
  @IsIn(['pending', 'sending', 'retrying', 'succeeded', 'failed', 'skipped'])
  status?: string;

  @IsOptional()
  @IsString()
  channel?: string;

  @IsOptional()
  @IsUUID()
  alertId?: string;

  @IsOptional()
  @IsString()
  cursor?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;

  constructor(init?: Partial<ListDeliveriesCommand>) {
    Object.assign(this, init);
  }
}

/** Every delivery (channel, status, attempts, last error), newest first, with its attempt log. */
@Injectable()
export class ListDeliveriesUseCase {
  constructor(private readonly deliveries: DeliveriesRepository) {}

  async execute(command: ListDeliveriesCommand) {
    await validated(command);
    const rows = await this.deliveries.list({
      status: command.status,
      channel: command.channel,
      alertId: command.alertId,
      before: decodeCursor(command.cursor),
      limit: command.limit,
    });
    const attempts = await this.deliveries.attempts(rows.map((r) => r.id));
    const last = rows[rows.length - 1];
    return {
      data: rows.map((d) =>
        presentDelivery(
          d,
          attempts.filter((a) => a.delivery_id === d.id),
        ),
      ),
      nextCursor: rows.length === command.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }
}
