import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import {
  ApiError,
  IDENTITY_HEADER,
  IDENTITY_SIG_HEADER,
  sendApiError,
  SERVICE_CONTEXT,
  serviceCredential,
  signIdentity,
  type Identity,
  type ServiceContext,
} from '@hishamos/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { IdentitySettings } from '../config/identity.settings';
import { IDENTITY_SETTINGS } from '../identity/identity-settings.provider';
import type { EdgeService } from './edge-routes';

/** Headers that belong to one connection, or that the edge sets itself: never copied across. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);
/** Client headers the upstream must not see: the caller's credentials and anything claiming an identity. */
const STRIPPED_REQUEST = new Set([
  'authorization',
  'x-api-key',
  'cookie',
  'accept-encoding',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  IDENTITY_HEADER,
  IDENTITY_SIG_HEADER,
]);
/** fetch decodes compressed bodies: their encoding and length no longer apply. */
const STRIPPED_RESPONSE = new Set(['content-encoding', 'content-length', 'set-cookie']);

/**
 * The edge: forwards a request to the service that owns its route with the gateway's service
 * credential and the caller's identity signed (signIdentity), preserving method, path, query, body,
 * status and content type, and streaming the answer as it arrives (SSE unbuffered). The upstream
 * request is aborted when the client goes away. Upstream down: 502 naming the service.
 */
@Injectable()
export class EdgeProxy {
  private readonly credential: string;
  private readonly requests: Counter<'service' | 'code'>;

  constructor(
    @Inject(SERVICE_CONTEXT)
    private readonly ctx: Pick<ServiceContext, 'config' | 'name' | 'urlOf' | 'metrics' | 'logger'>,
    @Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings,
  ) {
    this.credential = serviceCredential(ctx.config.SERVICE_TOKEN ?? '', ctx.name);
    const existing = ctx.metrics.registry.getSingleMetric('hishamos_edge_requests_total');
    this.requests =
      (existing as Counter<'service' | 'code'> | undefined) ??
      new Counter({
        name: 'hishamos_edge_requests_total',
        help: 'Requests the gateway forwarded to other services, by service and status class',
        labelNames: ['service', 'code'],
        registers: [ctx.metrics.registry],
      });
  }

  async forward(service: EdgeService, request: FastifyRequest, reply: FastifyReply, identity: Identity): Promise<void> {
    const method = request.method.toUpperCase();
    const target = `${this.ctx.urlOf(service)}${request.raw.url ?? request.url}`;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || STRIPPED_REQUEST.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers.authorization = `Bearer ${this.credential}`;
    Object.assign(headers, signIdentity(this.ctx.config.SERVICE_TOKEN ?? '', identity));
    headers['x-forwarded-for'] = request.ip;
    headers['x-forwarded-proto'] = request.protocol;
    if (request.headers.host) headers['x-forwarded-host'] = String(request.headers.host);

    const body = method === 'GET' || method === 'HEAD' ? undefined : this.body(request, headers);
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(new Error('timeout')), this.settings.EDGE_UPSTREAM_TIMEOUT_MS);
    const onClientGone = () => abort.abort(new Error('client closed'));
    reply.raw.once('close', onClientGone);

    let upstream: Response;
    try {
      upstream = await fetch(target, { method, headers, body, signal: abort.signal, redirect: 'manual' });
    } catch (error) {
      clearTimeout(timeout);
      reply.raw.off('close', onClientGone);
      const timedOut = abort.signal.aborted && (abort.signal.reason as Error)?.message === 'timeout';
      this.requests.inc({ service, code: timedOut ? '504' : '502' });
      if (reply.raw.destroyed) return;
      const cause = ((error as Error).cause as { code?: string } | undefined)?.code ?? (error as Error).message;
      this.ctx.logger.warn({ service, method, path: request.routeOptions.url, cause }, 'edge: upstream unavailable');
      return sendApiError(
        reply,
        timedOut
          ? new ApiError(
              504,
              'upstream_timeout',
              `${service} did not answer within ${this.settings.EDGE_UPSTREAM_TIMEOUT_MS} ms`,
              {
                reason: 'upstream timeout',
                details: { service },
              },
            )
          : new ApiError(502, 'upstream_unavailable', `${service} is unavailable; try again shortly`, {
              reason: 'upstream unavailable',
              details: { service },
            }),
      );
    }
    clearTimeout(timeout);
    this.requests.inc({ service, code: `${Math.floor(upstream.status / 100)}xx` });

    void reply.status(upstream.status);
    upstream.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name) && !STRIPPED_RESPONSE.has(name)) void reply.header(name, value);
    });
    const isSse = (upstream.headers.get('content-type') ?? '').startsWith('text/event-stream');
    if (isSse) {
      void reply.header('cache-control', upstream.headers.get('cache-control') ?? 'no-cache');
      void reply.header('x-accel-buffering', 'no');
    }
    if (!upstream.body || method === 'HEAD' || upstream.status === 204 || upstream.status === 304) {
      reply.raw.off('close', onClientGone);
      return void reply.send();
    }
    const stream = Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream<Uint8Array>);
    stream.on('error', () => undefined); // an upstream that drops mid-stream ends the client's response
    return void reply.send(stream);
  }

  private body(request: FastifyRequest, headers: Record<string, string>): string | Buffer | undefined {
    const body = request.body;
    if (body === undefined || body === null) return undefined;
    if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
    const type = headers['content-type'] ?? '';
    if (type.startsWith('application/x-www-form-urlencoded'))
      return new URLSearchParams(body as Record<string, string>).toString();
    if (!type) headers['content-type'] = 'application/json';
    return JSON.stringify(body);
  }
}
