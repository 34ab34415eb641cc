import { Module } from '@nestjs/common';

/** The secrets service's use cases, controllers and repositories. */
@Module({})
export class SecretsModule {}
