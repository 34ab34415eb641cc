import { All, Controller, Req, Res } from '@nestjs/common';
import { CurrentIdentity, type Identity } from '@hishamos/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EdgeProxy } from './edge-proxy';
import { edgeRoutePaths } from './edge-routes';

/**
 * The public routes of the other services (contracts.md), forwarded to them. The global guard has
 * authenticated the caller (API key or JWT, scopes) before a request gets here.
 */
@Controller()
export class EdgeController {
  constructor(private readonly proxy: EdgeProxy) {}

  @All(edgeRoutePaths('orchestrator'))
  orchestrator(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentIdentity() identity: Identity) {
    return this.proxy.forward('orchestrator', req, reply, identity);
  }

  @All(edgeRoutePaths('usage-metering'))
  metering(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentIdentity() identity: Identity) {
    return this.proxy.forward('usage-metering', req, reply, identity);
  }

  @All(edgeRoutePaths('alerting'))
  alerting(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentIdentity() identity: Identity) {
    return this.proxy.forward('alerting', req, reply, identity);
  }

  @All(edgeRoutePaths('feedback-ml'))
  feedback(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentIdentity() identity: Identity) {
    return this.proxy.forward('feedback-ml', req, reply, identity);
  }
}
