import { Module } from '@nestjs/common';

/** The alerting service's use cases, controllers and repositories. */
@Module({})
export class AlertingModule {}
