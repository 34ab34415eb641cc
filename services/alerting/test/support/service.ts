import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Topic, PayloadInit } from '@hishamos/contracts';
import {
  loadConfig,
  Platform,
  PlatformConfig,
  serviceCredential,
  signIdentity,
  type Role,
  type ServiceContext,
} from '@hishamos/platform';
import { definition } from '../../src';
import { EvaluationTicker } from '../../src/engine/evaluation.ticker';

export const TOKEN = 'alerting-test-service-token-0123456789abcdef';

export interface Running {
  platform: Platform;
  url: string;
  ctx: ServiceContext;
  ticker: EvaluationTicker;
  publish<T extends Topic>(topic: T, payload: PayloadInit<T>, key?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the alerting service in this process, embedded (PGlite, local bus) unless `config` says otherwise. */
export async function startAlerting(opts: {
  dataDir?: string;
  config?: Record<string, string>;
  env?: Record<string, string>;
}): Promise<Running & { dataDir: string }> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'hishamos-alerting-'));
  const config = loadConfig(PlatformConfig, {
    HISHAMOS_DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    SERVICE_TOKEN: TOKEN,
    ...opts.config,
  });
  const platform = new Platform({
    config,
    ports: { alerting: 0 },
    env: {
      ALERTING_EVALUATION_INTERVAL_MS: '3600000',
      ALERTING_METRIC_EVAL_MIN_INTERVAL_MS: '0',
      ALERTING_DELIVERY_BACKOFF_MS: '50',
      ALERTING_DELIVERY_MAX_BACKOFF_MS: '200',
      ALERTING_DELIVERY_MAX_ATTEMPTS: '3',
      ALERTING_DELIVERY_TIMEOUT_MS: '3000',
      ALERTING_DB_POOL_SAMPLE_MS: '0',
      ...opts.env,
    },
  });
  await platform.start([definition]);
  const svc = platform.services[0];
  return {
    platform,
    dataDir,
    url: svc.url,
    ctx: svc.context,
    ticker: svc.app.get(EvaluationTicker),
    publish: (topic, payload, key = 'k') => platform.eventBus.publish(topic, payload, { key }),
    stop: () => platform.stop(),
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Headers of a person's request as the gateway forwards it (service credential + signed identity). */
export function asUser(subject: string, roles: Role[] = ['admin']): Record<string, string> {
  return {
    authorization: `Bearer ${serviceCredential(TOKEN, 'agent-gateway')}`,
    ...signIdentity(TOKEN, { kind: 'user', subject, roles, via: 'api_key' }),
  };
}

export function asService(name: string): Record<string, string> {
  return { authorization: `Bearer ${serviceCredential(TOKEN, name)}` };
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export function api(base: string) {
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<ApiResponse<T>> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  };
}
