import { Module } from '@nestjs/common';

/**
 * Users, roles, agent permissions, API keys, JWT, bootstrap admin, audit log, provider configs and the
 * edge that forwards other services' routes. Provides AUTHENTICATOR, AGENT_ACCESS, AUDIT_LOG,
 * PROVIDER_CONFIGS and SECRET_STORE (see ../ports/gateway-ports.ts).
 */
@Module({})
export class IdentityModule {}
