import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from './auth/decorators';
import { SERVICE_CONTEXT, type ReadinessResult, type ServiceContext } from './service-context';

/** /health/live, /health/ready (database and bus) and /metrics for every service. */
@Public()
@Controller()
export class HealthController {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  @Get('health/live')
  @HttpCode(200)
  live(): { status: string; service: string } {
    return { status: 'ok', service: this.ctx.name };
  }

  @Get('health/ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const [database, bus] = await Promise.all([
      this.ctx.db.ping().then(
        () => ({ ok: true, kind: this.ctx.db.kind }),
        (e: Error) => ({ ok: false, kind: this.ctx.db.kind, error: e.message }),
      ),
      // The broker answers and every consumer of the process is running (a crashed Kafka consumer is being brought back).
      this.ctx.bus.healthy().then((ok) => {
        const down = this.ctx.bus.consumers().filter((c) => !c.running);
        return {
          ok,
          transport: this.ctx.bus.transportId,
          ...(down.length ? { consumersDown: down.map((c) => c.group) } : {}),
        };
      }),
    ]);
    const extra: Record<string, ReadinessResult> = {};
    for (const [name, check] of this.ctx.readinessChecks) {
      extra[name] = await check().catch((e: Error) => ({ ok: false, error: e.message }));
    }
    const ok = database.ok && bus.ok && Object.values(extra).every((c) => c.ok);
    await reply
      .status(ok ? 200 : 503)
      .send({ status: ok ? 'ok' : 'unavailable', service: this.ctx.name, checks: { database, bus, ...extra } });
  }

  @Get('metrics')
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    this.ctx.metrics.dbPoolUsage.set(this.ctx.db.poolUsage());
    await reply.header('content-type', this.ctx.metrics.contentType).send(await this.ctx.metrics.render());
  }
}
