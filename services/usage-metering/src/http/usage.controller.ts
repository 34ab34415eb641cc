import { Controller, Get, Query } from '@nestjs/common';
import { CurrentIdentity, type Identity } from '@hishamos/platform';
import {
  ListUsageRecordsCommand,
  ListUsageRecordsUseCase,
} from '../usecases/list-usage-records/list-usage-records.usecase';
import { QueryUsageCommand, QueryUsageUseCase } from '../usecases/query-usage/query-usage.usecase';
import { readableUser } from './access';

/** Cost and tokens for the Token Management screen (people other than admins/operators see their own). */
@Controller('v1/usage')
export class UsageController {
  constructor(
    private readonly queryUsage: QueryUsageUseCase,
    private readonly listRecords: ListUsageRecordsUseCase,
  ) {}

  @Get()
  query(@Query() command: QueryUsageCommand, @CurrentIdentity() identity: Identity) {
    command.userId = readableUser(identity, command.userId);
    return this.queryUsage.execute(command);
  }

  @Get('records')
  records(@Query() command: ListUsageRecordsCommand, @CurrentIdentity() identity: Identity) {
    command.userId = readableUser(identity, command.userId);
    return this.listRecords.execute(command);
  }
}
