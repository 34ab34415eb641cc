import { Module } from '@nestjs/common';

/** The usage-metering service's use cases, controllers and repositories. */
@Module({})
export class UsageMeteringModule {}
