import { Injectable } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';
import { NotificationsRepository } from '../../repositories/notifications.repository';
import { decodeCursor, encodeCursor, validated } from '../command';
import { presentNotification } from '../presenters';

export class ListNotificationsCommand {
  @IsString()
  @MinLength(1)
  userId!: string;

  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value === 'true' || value === '1' : value))
  @IsBoolean()
  unread?: boolean;

  @IsOptional()
  @IsString()
  cursor?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;

  constructor(init?: Partial<ListNotificationsCommand>) {
    Object.assign(this, init);
  }
}

/** The caller's in-app notifications, newest first, with the unread count. */
@Injectable()
export class ListNotificationsUseCase {
  constructor(private readonly notifications: NotificationsRepository) {}

  async execute(command: ListNotificationsCommand) {
    await validated(command);
    const rows = await this.notifications.list(command.userId, {
      unreadOnly: command.unread === true,
      before: decodeCursor(command.cursor),
      limit: command.limit,
    });
    const last = rows[rows.length - 1];
    return {
      data: rows.map(presentNotification),
      unreadCount: await this.notifications.unreadCount(command.userId),
      nextCursor: rows.length === command.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }
}
