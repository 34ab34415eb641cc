import { Module } from '@nestjs/common';

/** The orchestrator service's use cases, controllers and repositories. */
@Module({})
export class OrchestratorModule {}
