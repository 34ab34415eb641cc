import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './ports';

const run = promisify(execFile);

/** Where scripts/infra keeps the shared broker's jars (fetched once with mvn). */
function sharedKafkaLibs(repo: string): string {
  const state = process.env.HISHAMOS_INFRA_DIR ?? join(repo, '.hishamos', 'infra');
  return join(state, 'kafka', `libs-${process.env.KAFKA_VERSION ?? '3.9.1'}`);
}

/**
 * A Kafka broker (single KRaft node) and a Postgres 15 cluster of this harness's own, started with the
 * project's scripts/infra scripts on free ports. The install under test shares nothing with other test
 * suites running on the machine (the shared broker's consumer groups are not namespaced by topic
 * prefix, so two installs on one broker steal each other's partitions), and the fault scenarios can
 * stop and restart both without disturbing anyone.
 */
export class PrivateInfra {
  brokers: string[] = [];
  adminUrl = '';
  private kafkaEnv: Record<string, string | undefined> = {};
  private pgEnv: Record<string, string | undefined> = {};

  constructor(
    private readonly repo: string,
    private readonly dir: string,
    private readonly id: string,
  ) {}

  private script(name: string, args: string[], env: Record<string, string | undefined>, timeout = 120000) {
    return run(join(this.repo, 'scripts', 'infra', name), args, {
      cwd: this.repo,
      env: { ...process.env, ...env },
      timeout,
    });
  }

  async start(): Promise<void> {
    const [kafkaPort, controllerPort, pgPort] = [await freePort(), await freePort(), await freePort()];
    const state = join(this.dir, 'infra');
    this.kafkaEnv = {
      HISHAMOS_INFRA_DIR: state,
      KAFKA_PORT: String(kafkaPort),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
    };
    // Postgres runs as the postgres OS user: its data directory lives outside the repository.
    this.pgEnv = {
      HISHAMOS_INFRA_DIR: state,
      PG_PORT: String(pgPort),
      PGDATA_DIR: `/var/tmp/hishamos-e2e-pg-${this.id}`,
    };
    // The broker's jars: the ones scripts/infra fetched for the shared broker (fetched now if absent).
    const libs = sharedKafkaLibs(this.repo);
    if (!existsSync(join(libs, '.complete'))) await this.script('kafka.sh', ['install'], {}, 600000);
    mkdirSync(join(state, 'kafka'), { recursive: true });
    symlinkSync(libs, join(state, 'kafka', `libs-${process.env.KAFKA_VERSION ?? '3.9.1'}`));
    await Promise.all([this.startKafka(), this.startPostgres()]);
    this.brokers = [`127.0.0.1:${kafkaPort}`];
    const admin = `postgres://postgres@127.0.0.1:${pgPort}`;
    const c = new Client({ connectionString: `${admin}/postgres` });
    await c.connect();
    await c.query('CREATE DATABASE hishamos_e2e');
    await c.end();
    this.adminUrl = `${admin}/hishamos_e2e`;
  }

  async stopKafka(): Promise<void> {
    await this.script('kafka.sh', ['stop'], this.kafkaEnv, 60000);
  }

  async startKafka(): Promise<void> {
    await this.script('kafka.sh', ['start'], this.kafkaEnv);
  }

  async stopPostgres(): Promise<void> {
    await this.script('postgres.sh', ['stop'], this.pgEnv, 60000);
  }

  async startPostgres(): Promise<void> {
    await this.script('postgres.sh', ['start'], this.pgEnv);
  }

  /** Stops both and deletes their data. */
  async destroy(): Promise<void> {
    await this.script('kafka.sh', ['reset'], this.kafkaEnv, 60000).catch(() => undefined);
    await this.script('postgres.sh', ['reset'], this.pgEnv, 60000).catch(() => undefined);
    rmSync(join(this.dir, 'infra'), { recursive: true, force: true });
  }
}
