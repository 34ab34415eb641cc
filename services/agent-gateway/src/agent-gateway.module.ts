import { Module } from '@nestjs/common';

/** The agent-gateway service's use cases, controllers and repositories. */
@Module({})
export class AgentGatewayModule {}
