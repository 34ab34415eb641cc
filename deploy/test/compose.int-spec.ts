import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { K8sObject, named, render } from './support/helm';
import { DEV_VALUES, REPO_ROOT, SERVICE_NAMES, SERVICES } from './support/paths';

/* docker-compose.dev.yml, parsed (YAML merge keys resolved) and checked against the chart. */

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  healthcheck?: { test: string[] };
}
interface Compose {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.dev.yml');

/** Compose's ${VAR:-default} interpolation with an empty environment: the defaults. */
const interpolate = (s: string): string =>
  s.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_m, _name: string, def?: string) => def ?? '');
const schemaOf = (service: string): string => service.replace(/-/g, '_');

describe('docker-compose.dev.yml', () => {
  let compose: Compose;
  let chart: K8sObject[];
  beforeAll(() => {
    compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Compose;
    chart = render({ valuesFiles: [DEV_VALUES] });
  });

  it('runs the six services, each built from the Dockerfile with SERVICE set', () => {
    for (const name of SERVICE_NAMES) {
      const s = compose.services[name];
      expect({ name, build: s?.build }).toEqual({
        name,
        build: { context: '.', dockerfile: 'Dockerfile', args: { SERVICE: name } },
      });
      expect(s.environment?.SERVICE).toBe(name);
    }
    expect(existsSync(join(REPO_ROOT, 'Dockerfile'))).toBe(true);
  });

  it('publishes each service on the chart port, on 127.0.0.1 only', () => {
    for (const name of SERVICE_NAMES) {
      const port = SERVICES[name];
      const s = compose.services[name];
      expect({ name, ports: s.ports }).toEqual({ name, ports: [`127.0.0.1:${port}:${port}`] });
      expect(s.environment?.PORT).toBe(String(port));
      const chartPort = (
        named(chart, 'Service', `hishamos-${name}`) as unknown as { spec: { ports: { port: number }[] } }
      ).spec.ports[0].port;
      expect(chartPort).toBe(port);
      expect(s.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health/ready`);
    }
    for (const [name, s] of Object.entries(compose.services)) {
      for (const p of s.ports ?? [])
        expect({ name, port: p }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/) });
    }
  });

  it('gives each service exactly the environment variables the chart gives its pod', () => {
    for (const name of SERVICE_NAMES) {
      const d = named(chart, 'Deployment', `hishamos-${name}`) as unknown as {
        spec: {
          template: {
            spec: { containers: { env?: { name: string }[]; envFrom?: { configMapRef: { name: string } }[] }[] };
          };
        };
      };
      const c = d.spec.template.spec.containers[0];
      const chartEnv = new Set<string>((c.env ?? []).map((e) => e.name));
      for (const from of c.envFrom ?? []) {
        const data = (named(chart, 'ConfigMap', from.configMapRef.name) as unknown as { data: Record<string, string> })
          .data;
        for (const k of Object.keys(data)) chartEnv.add(k);
      }
      expect({ name, env: Object.keys(compose.services[name].environment ?? {}).sort() }).toEqual({
        name,
        env: [...chartEnv].sort(),
      });
      const env = compose.services[name].environment!;
      expect(env.HISHAMOS_MODE).toBe('distributed');
      expect(env.KAFKA_BROKERS).toBe('kafka:9092');
      expect(env.KAFKA_REPLICATION_FACTOR).toBe('1');
      expect(env.SECRETS_URL).toBe('http://secrets:8085');
      expect(env.METERING_URL).toBe('http://usage-metering:8082');
      expect(new URL(interpolate(env.DATABASE_URL)).username).toBe(`hishamos_${schemaOf(name)}`);
    }
  });

  it('runs migrations once, before the services, with each service role URL', () => {
    const m = compose.services.migrate;
    expect(m.command).toEqual(['node', 'dist/libs/cli/src/main.js', 'migrate', '--all']);
    expect(m.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
    expect(new URL(interpolate(m.environment!.DATABASE_ADMIN_URL)).username).toBe('postgres');
    const job = named(chart, 'Job', 'hishamos-migrations') as unknown as {
      spec: { template: { spec: { containers: { env: { name: string }[] }[] } } };
    };
    const jobEnv = job.spec.template.spec.containers[0].env.map((e) => e.name).sort();
    expect(Object.keys(m.environment!).sort()).toEqual(jobEnv);
    for (const name of SERVICE_NAMES) {
      // The role password the migration sets is the one the service connects with.
      const key = `DATABASE_URL_${schemaOf(name).toUpperCase()}`;
      expect({ name, url: m.environment![key] }).toEqual({
        name,
        url: compose.services[name].environment!.DATABASE_URL,
      });
      expect(compose.services[name].depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
      expect(compose.services[name].depends_on?.kafka).toEqual({ condition: 'service_healthy' });
    }
  });

  it('hardens the service containers like the chart: uid 10001, read-only root, /tmp tmpfs, no capabilities', () => {
    for (const name of [...SERVICE_NAMES, 'migrate']) {
      const s = compose.services[name];
      expect({ name, user: s.user, ro: s.read_only, tmpfs: s.tmpfs, caps: s.cap_drop, opts: s.security_opt }).toEqual({
        name,
        user: '10001:10001',
        ro: true,
        tmpfs: ['/tmp'],
        caps: ['ALL'],
        opts: ['no-new-privileges:true'],
      });
    }
  });

  it('runs the dependencies: Kafka 3.9 KRaft, Postgres with pgvector, Vault dev, Prometheus, Alertmanager, Mailpit', () => {
    const kafka = compose.services.kafka;
    expect(kafka.image).toMatch(/^apache\/kafka:3\.9\.\d+$/);
    expect(kafka.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kafka.environment?.KAFKA_ADVERTISED_LISTENERS).toContain('PLAINTEXT://kafka:9092');
    expect(compose.services.postgres.image).toMatch(/^pgvector\/pgvector:pg1[6-9]$/);
    expect(compose.services.vault.image).toMatch(/^hashicorp\/vault:\d+\.\d+\.\d+$/);
    expect(compose.services.vault.command).toEqual(expect.arrayContaining(['server', '-dev']));
    expect(compose.services.prometheus.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(compose.services.alertmanager.image).toMatch(/^prom\/alertmanager:v\d+\.\d+\.\d+$/);
    expect(compose.services.mailpit.image).toMatch(/^axllent\/mailpit:v\d+\.\d+\.\d+$/);
    expect(compose.services.alerting.environment?.SMTP_HOST).toBe('mailpit');
    expect(compose.services.secrets.environment?.VAULT_URL).toBe('http://vault:8200');
    expect(interpolate(compose.services.secrets.environment!.VAULT_TOKEN)).toBe(
      interpolate(compose.services.vault.environment!.VAULT_DEV_ROOT_TOKEN_ID),
    );
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.image && !s.build)
        expect({ name, image: s.image }).toEqual({ name, image: expect.not.stringMatching(/:latest$|^[^:]+$/) });
    }
  });

  it('mounts files that exist and declares its named volumes', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const [source] = v.split(':');
        if (source.startsWith('./')) {
          expect({ name, source, exists: existsSync(join(REPO_ROOT, source)) }).toEqual({ name, source, exists: true });
        } else {
          expect({ name, volume: source, declared: Object.keys(compose.volumes ?? {}).includes(source) }).toEqual({
            name,
            volume: source,
            declared: true,
          });
        }
      }
    }
    const rules = compose.services.prometheus.volumes?.find((v) => v.endsWith(':/etc/prometheus/rules:ro'));
    expect(rules).toBe('./deploy/prometheus/rules:/etc/prometheus/rules:ro');
    expect(statSync(join(REPO_ROOT, 'deploy/prometheus/rules')).isDirectory()).toBe(true);
  });

  it('has Prometheus scrape the six compose services and Alertmanager call the alerting webhook', () => {
    const prom = parse(readFileSync(join(REPO_ROOT, 'deploy/compose/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: {
        job_name: string;
        metrics_path?: string;
        static_configs: { targets: string[]; labels?: Record<string, string> }[];
      }[];
    };
    expect(prom.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    expect(prom.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
    const job = prom.scrape_configs.find((j) => j.job_name === 'hishamos')!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs.map((c) => [c.targets, c.labels?.service])).toEqual(
      SERVICE_NAMES.map((n) => [[`${n}:${SERVICES[n]}`], n]),
    );
    for (const n of SERVICE_NAMES) expect(Object.keys(compose.services)).toContain(n);
    const am = parse(readFileSync(join(REPO_ROOT, 'deploy/compose/alertmanager.yml'), 'utf8')) as {
      receivers: {
        name: string;
        webhook_configs?: { url: string; http_config: { authorization: { credentials_file: string } } }[];
      }[];
    };
    const hook = am.receivers.flatMap((r) => r.webhook_configs ?? [])[0];
    expect(hook.url).toBe(`http://alerting:${SERVICES.alerting}/v1/alertmanager/webhook`);
    const command = ([] as string[]).concat(compose.services.alertmanager.command ?? []).join(' ');
    expect(command).toContain(hook.http_config.authorization.credentials_file);
  });
});
