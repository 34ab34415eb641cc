import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ApiError, CurrentIdentity, type Identity } from '@hishamos/platform';
import {
  ListNotificationsCommand,
  ListNotificationsUseCase,
} from '../usecases/list-notifications/list-notifications.usecase';
import {
  MarkAllNotificationsReadCommand,
  MarkAllNotificationsReadUseCase,
} from '../usecases/mark-all-notifications-read/mark-all-notifications-read.usecase';
import {
  MarkNotificationReadCommand,
  MarkNotificationReadUseCase,
} from '../usecases/mark-notification-read/mark-notification-read.usecase';

export class NotificationsQuery {
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value === 'true' || value === '1' : value))
  @IsBoolean()
  unread?: boolean;

  @IsOptional()
  @IsString()
  cursor?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

function person(identity: Identity): string {
  if (identity.kind !== 'user') throw ApiError.forbidden('notifications belong to people; call on behalf of a user');
  return identity.subject;
}

/** The caller's own in-app notifications. */
@Controller('v1/notifications')
export class NotificationsController {
  constructor(
    private readonly list: ListNotificationsUseCase,
    private readonly markOne: MarkNotificationReadUseCase,
    private readonly markAll: MarkAllNotificationsReadUseCase,
  ) {}

  @Get()
  index(@Query() query: NotificationsQuery, @CurrentIdentity() who: Identity) {
    return this.list.execute(
      new ListNotificationsCommand({
        userId: person(who),
        unread: query.unread,
        cursor: query.cursor,
        limit: query.limit ?? 50,
      }),
    );
  }

  @Post('read-all')
  @HttpCode(200)
  readAll(@CurrentIdentity() who: Identity) {
    return this.markAll.execute(new MarkAllNotificationsReadCommand({ userId: person(who) }));
  }

  @Post(':id/read')
  @HttpCode(200)
  read(@Param('id') id: string, @CurrentIdentity() who: Identity) {
    return this.markOne.execute(new MarkNotificationReadCommand({ userId: person(who), id }));
  }
}
