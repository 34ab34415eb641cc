import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { IsIn, IsObject, IsString, MinLength } from 'class-validator';
import type { SqlExecutor } from '@hishamos/persistence';
import { EVENT_TYPE_NAMES, type EventTypeName } from '../../domain/event-types';
import type { Value } from '../../domain/expression/expression';
import { NotificationsRepository, type NewNotification } from '../../repositories/notifications.repository';
import { validated } from '../command';

export class NotifyUserCommand {
  @IsIn(EVENT_TYPE_NAMES)
  type!: EventTypeName;

  @IsString()
  @MinLength(1)
  id!: string;

  @IsObject()
  fields!: Record<string, Value>;

  tx!: SqlExecutor;

  constructor(init?: Partial<NotifyUserCommand>) {
    Object.assign(this, init);
  }
}

const str = (v: Value | undefined) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

type Draft = Omit<NewNotification, 'id' | 'sourceKey' | 'source'>;

/** The in-app notification an event gives the person it concerns, if any. */
export function notificationFor(type: EventTypeName, f: Record<string, Value>): Draft | undefined {
  if (type === 'workflow') {
    const userId = str(f.user_id);
    if (!userId) return undefined;
    const name = str(f.workflow_name) || str(f.workflow_id) || 'workflow';
    const link = str(f.run_id) ? `/v1/runs/${str(f.run_id)}` : undefined;
    switch (str(f.kind)) {
      case 'FAILED':
        return {
          userId,
          type: 'error',
          title: `Workflow ${name} failed`,
          message: str(f.error) || 'The run failed.',
          link,
        };
      case 'COMPLETED':
        return {
          userId,
          type: 'success',
          title: `Workflow ${name} completed`,
          message: 'The run finished successfully.',
          link,
        };
      case 'CANCELLED':
        return {
          userId,
          type: 'warning',
          title: `Workflow ${name} was cancelled`,
          message: str(f.detail) || 'The run was cancelled.',
          link,
        };
      case 'STEP_WAITING_APPROVAL':
        return {
          userId,
          type: 'info',
          title: `Workflow ${name} is waiting for your approval`,
          message: str(f.detail) || `Step ${str(f.step_id) || '?'} needs an approval before the run continues.`,
          link,
        };
      default:
        return undefined;
    }
  }
  if (type === 'budget') {
    if (str(f.scope) !== 'USER' || !str(f.scope_id)) return undefined;
    const period = (str(f.period) || 'budget').toLowerCase();
    const spent = `$${str(f.spend_usd) || '?'} of your ${period} budget of $${str(f.limit_usd) || '?'}`;
    if (str(f.threshold) === 'HARD')
      return {
        userId: str(f.scope_id),
        type: 'error',
        title: 'Budget hard limit reached',
        message: `You have spent ${spent}. Requests charged to this budget are refused until the period ends.`,
      };
    if (str(f.threshold) === 'SOFT')
      return {
        userId: str(f.scope_id),
        type: 'warning',
        title: 'Budget soft limit reached',
        message: `You have spent ${spent}.`,
      };
  }
  return undefined;
}

/** Workflow and budget events notify the user they concern, once per event. */
@Injectable()
export class NotifyUserUseCase {
  constructor(private readonly notifications: NotificationsRepository) {}

  async execute(command: NotifyUserCommand): Promise<boolean> {
    await validated(command);
    const draft = notificationFor(command.type, command.fields);
    if (!draft) return false;
    return this.notifications.insert(command.tx, {
      ...draft,
      id: randomUUID(),
      source: command.type,
      sourceKey: `${command.type}:${command.id}`,
    });
  }
}
