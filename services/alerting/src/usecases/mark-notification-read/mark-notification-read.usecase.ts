import { Injectable } from '@nestjs/common';
import { IsString, IsUUID, MinLength } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { NotificationsRepository } from '../../repositories/notifications.repository';
import { validated } from '../command';
import { presentNotification } from '../presenters';

export class MarkNotificationReadCommand {
  @IsString()
  @MinLength(1)
  userId!: string;

  @IsUUID()
  id!: string;

  constructor(init?: Partial<MarkNotificationReadCommand>) {
    Object.assign(this, init);
  }
}

/** Marks one of the caller's notifications read (another user's is a 404, as if it did not exist). */
@Injectable()
export class MarkNotificationReadUseCase {
  constructor(private readonly notifications: NotificationsRepository) {}

  async execute(command: MarkNotificationReadCommand) {
    await validated(command);
    const row = await this.notifications.markRead(command.userId, command.id);
    if (!row) throw ApiError.notFound('notification', command.id);
    return presentNotification(row);
  }
}
