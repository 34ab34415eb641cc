import { Injectable } from '@nestjs/common';
import { IsString, MinLength } from 'class-validator';
import { NotificationsRepository } from '../../repositories/notifications.repository';
import { validated } from '../command';

export class MarkAllNotificationsReadCommand {
  @IsString()
  @MinLength(1)
  userId!: string;

  constructor(init?: Partial<MarkAllNotificationsReadCommand>) {
    Object.assign(this, init);
  }
}

@Injectable()
export class MarkAllNotificationsReadUseCase {
  constructor(private readonly notifications: NotificationsRepository) {}

  async execute(command: MarkAllNotificationsReadCommand) {
    await validated(command);
    return { updated: await this.notifications.markAllRead(command.userId) };
  }
}
