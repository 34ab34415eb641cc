import { SERVICES, SERVICE_NAMES, type ServiceName } from '@hishamos/contracts';
import { Database, migrate, migrationFiles, provisionServiceRole } from '@hishamos/persistence';
import { loadConfig, Platform, PlatformConfig, REPO_ROOT } from '@hishamos/platform';
import { join } from 'node:path';
import { ALL_SERVICES } from './services';

export class CliError extends Error {}

interface Out {
  log(line: string): void;
}

/** `hishamos up`: every service in one process (embedded default) until Ctrl-C. */
export async function up(env: Record<string, string | undefined>, out: Out): Promise<Platform> {
  const config = loadConfig(PlatformConfig, { HISHAMOS_MODE: 'embedded', ...env });
  const platform = new Platform({
    config,
    ports: config.PORT !== undefined ? { 'agent-gateway': config.PORT } : undefined,
  });
  out.log(`HishamOS starting (${config.HISHAMOS_MODE}; data in ${config.HISHAMOS_DATA_DIR})`);
  await platform.start(ALL_SERVICES);
  const rows = await Promise.all(
    platform.services.map(async (s) => ({ name: s.definition.name, url: s.url, ready: await readiness(s.url) })),
  );
  for (const r of rows) out.log(`  ${r.name.padEnd(15)} ${r.url.padEnd(24)} ready: ${r.ready}`);
  const gateway = platform.services.find((s) => s.definition.name === 'agent-gateway');
  out.log(`\nPublic API: ${gateway?.url}  (health: ${gateway?.url}/health/ready, metrics: ${gateway?.url}/metrics)`);
  out.log('Press Ctrl-C to stop.');
  return platform;
}

async function readiness(url: string): Promise<string> {
  try {
    const r = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(3000) });
    return r.ok ? 'ok' : `unavailable (${r.status})`;
  } catch (e) {
    return `unreachable (${(e as Error).message})`;
  }
}

/** `hishamos status`: the health of every service, by its default port (or HISHAMOS_<SERVICE>_URL). */
export async function status(env: Record<string, string | undefined>, out: Out): Promise<boolean> {
  let allOk = true;
  for (const name of SERVICE_NAMES) {
    const base =
      env[`HISHAMOS_${name.toUpperCase().replace('-', '_')}_URL`] ?? `http://127.0.0.1:${SERVICES[name].port}`;
    const r = await readiness(base);
    if (r !== 'ok') allOk = false;
    out.log(`${name.padEnd(15)} ${base.padEnd(24)} ${r}`);
  }
  return allOk;
}

/**
 * `hishamos migrate --all | --service NAME`: with DATABASE_ADMIN_URL, provisions each service's
 * schema and least-privilege role (password from HISHAMOS_DB_PASSWORD_<SERVICE>, or from the
 * DATABASE_URL_<SERVICE> the chart and compose give each service) and migrates it.
 */
export async function migrateCommand(args: string[], env: Record<string, string | undefined>, out: Out): Promise<void> {
  const adminUrl = env.DATABASE_ADMIN_URL;
  if (!adminUrl) throw new CliError('DATABASE_ADMIN_URL is required (postgres://admin:password@host:5432/hishamos)');
  const i = args.indexOf('--service');
  const names: ServiceName[] = args.includes('--all')
    ? SERVICE_NAMES
    : i >= 0 && args[i + 1]
      ? [args[i + 1] as ServiceName]
      : [];
  if (names.length === 0) throw new CliError('usage: hishamos migrate --all | --service <name>');
  for (const name of names) {
    if (!SERVICES[name]) throw new CliError(`unknown service ${name}; one of ${SERVICE_NAMES.join(', ')}`);
    const suffix = name.toUpperCase().replace(/-/g, '_');
    const pwVar = `HISHAMOS_DB_PASSWORD_${suffix}`;
    const urlVar = `DATABASE_URL_${suffix}`;
    // The role's password: given directly, or taken from the URL the service itself will use (Helm, compose).
    const fromUrl = env[urlVar] ? decodeURIComponent(new URL(env[urlVar]!).password) : undefined;
    const password = env[pwVar] || fromUrl;
    if (!password) throw new CliError(`${pwVar} or ${urlVar} (with the role's password) is required`);
    const url = await provisionServiceRole(adminUrl, SERVICES[name].schema, password);
    const db = await Database.open({ kind: 'postgres', schema: SERVICES[name].schema, url, poolSize: 2 });
    try {
      const applied = await migrate(db, migrationFiles(join(REPO_ROOT, 'migrations'), name));
      out.log(`${name}: ${applied.length ? applied.join(', ') : 'up to date'}`);
    } finally {
      await db.close();
    }
  }
}
