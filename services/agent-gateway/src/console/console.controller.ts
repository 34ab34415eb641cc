import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { Public } from '@hishamos/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONSOLE_NOT_BUILT, ConsoleFiles } from './console-files';

/**
 * The console is static: scripts only from the gateway itself, API calls to the same origin, and no
 * framing. Styles allow inline attributes (the chart library sets them).
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** The admin console (services/agent-gateway/console, built by vite) at /console; it signs in through /v1/auth/login. */
@Public()
@Controller('console')
export class ConsoleController {
  constructor(@Inject(ConsoleFiles) private readonly files: ConsoleFiles) {}

  @Get()
  index(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.serve(req, reply);
  }

  @Get('*')
  asset(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.serve(req, reply);
  }

  private async serve(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const file = await this.files.get(req.url);
    if (file.kind === 'not-built') {
      await reply
        .status(503)
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send(CONSOLE_NOT_BUILT);
      return;
    }
    if (file.kind === 'not-found') {
      await reply.status(404).type('text/plain; charset=utf-8').send('not found');
      return;
    }
    await reply
      .status(200)
      .headers(SECURITY_HEADERS)
      .header('cache-control', file.cacheControl)
      .type(file.contentType)
      .send(file.body);
  }
}
