import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { byKind, K8sObject, named, render } from './support/helm';
import { DEV_VALUES, REPO_ROOT, SERVICE_NAMES, SERVICES } from './support/paths';
import { invalidObjects } from './support/validate';

/* deploy/k8s: the kind cluster config, the dev dependencies and how they fit the chart. */

const K8S_DIR = join(REPO_ROOT, 'deploy', 'k8s');

interface Kustomization {
  namespace: string;
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
}
interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Workload {
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: Container[];
        volumes?: {
          name: string;
          configMap?: { name: string };
          secret?: { secretName: string; items?: { key: string; path: string }[] };
        }[];
      };
    };
  };
}

function loadManifests(): K8sObject[] {
  const k = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as Kustomization;
  return k.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8'))
      .map((d) => d.toJS() as K8sObject)
      .filter((o) => o !== null),
  );
}

const workload = (objects: K8sObject[], name: string): Workload =>
  (objects.find(
    (o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === name,
  ) as unknown as Workload) ??
  (() => {
    throw new Error(`no workload ${name}`);
  })();

describe('deploy/k8s/kind-config.yaml', () => {
  const config = parse(readFileSync(join(K8S_DIR, 'kind-config.yaml'), 'utf8')) as {
    kind: string;
    apiVersion: string;
    name: string;
    nodes: {
      role: string;
      labels?: Record<string, string>;
      extraPortMappings?: { containerPort: number; hostPort: number; listenAddress?: string; protocol?: string }[];
    }[];
  };

  it('is a kind v1alpha4 Cluster with one control plane and workers', () => {
    expect(config.kind).toBe('Cluster');
    expect(config.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(config.name).toBe('hishamos-dev');
    expect(config.nodes.filter((n) => n.role === 'control-plane')).toHaveLength(1);
    expect(config.nodes.filter((n) => n.role === 'worker').length).toBeGreaterThanOrEqual(1);
    expect(config.nodes.every((n) => ['control-plane', 'worker'].includes(n.role))).toBe(true);
  });

  it('maps the ingress ports 80 and 443 to 127.0.0.1 on the node that runs the ingress controller', () => {
    const cp = config.nodes.find((n) => n.role === 'control-plane')!;
    expect(cp.labels?.['ingress-ready']).toBe('true');
    expect(cp.extraPortMappings).toEqual([
      { containerPort: 80, hostPort: 80, listenAddress: '127.0.0.1', protocol: 'TCP' },
      { containerPort: 443, hostPort: 443, listenAddress: '127.0.0.1', protocol: 'TCP' },
    ]);
  });
});

describe('deploy/k8s dev manifests', () => {
  let objects: K8sObject[];
  let chart: K8sObject[];
  beforeAll(() => {
    objects = loadManifests();
    chart = render({ valuesFiles: [DEV_VALUES], namespace: 'hishamos-dev' });
  });

  it('lists files that exist and generates ConfigMaps from files that exist', () => {
    const k = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as Kustomization;
    expect(k.namespace).toBe('hishamos-dev');
    for (const f of k.resources) expect({ f, exists: existsSync(join(K8S_DIR, f)) }).toEqual({ f, exists: true });
    for (const g of k.configMapGenerator) {
      for (const f of g.files) {
        const path = f.split('=').pop()!;
        expect({ path, exists: existsSync(join(K8S_DIR, path)) }).toEqual({ path, exists: true });
      }
    }
  });

  it('contains only objects that are valid against the Kubernetes schemas (kubernetes-models)', () => {
    expect(objects.length).toBeGreaterThan(10);
    expect(invalidObjects(objects)).toEqual([]);
  });

  it('runs Kafka 3.9 in KRaft mode, Postgres with pgvector, Vault dev mode, Prometheus, Alertmanager and Mailpit on pinned images', () => {
    const image = (name: string): string => workload(objects, name).spec.template.spec.containers[0].image;
    expect(image('kafka')).toMatch(/^apache\/kafka:3\.9\.\d+$/);
    expect(image('postgres')).toMatch(/^pgvector\/pgvector:pg1[6-9]$/);
    expect(image('vault')).toMatch(/^hashicorp\/vault:\d+\.\d+\.\d+$/);
    expect(image('prometheus')).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(image('alertmanager')).toMatch(/^prom\/alertmanager:v\d+\.\d+\.\d+$/);
    expect(image('mailpit')).toMatch(/^axllent\/mailpit:v\d+\.\d+\.\d+$/);
    const kafkaEnv = Object.fromEntries(
      (workload(objects, 'kafka').spec.template.spec.containers[0].env ?? []).map((e) => [e.name, e.value]),
    );
    expect(kafkaEnv.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kafkaEnv.KAFKA_ADVERTISED_LISTENERS).toBe('PLAINTEXT://kafka.hishamos-dev.svc.cluster.local:9092');
    const vault = workload(objects, 'vault').spec.template.spec.containers[0] as Container & { args: string[] };
    expect(vault.args).toEqual(expect.arrayContaining(['server', '-dev']));
  });

  it('loads the alerting rules into Prometheus from the prometheus-rules ConfigMap', () => {
    const prom = workload(objects, 'prometheus').spec.template.spec;
    expect(prom.volumes?.find((v) => v.name === 'rules')?.configMap?.name).toBe('prometheus-rules');
    expect(prom.containers[0].volumeMounts?.find((m) => m.name === 'rules')?.mountPath).toBe('/etc/prometheus/rules');
    const config = parse(readFileSync(join(K8S_DIR, 'prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
    };
    expect(config.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    // The README creates the ConfigMap from this directory.
    expect(readFileSync(join(K8S_DIR, 'README.md'), 'utf8')).toContain(
      'create configmap prometheus-rules \\\n  --from-file=deploy/prometheus/rules/',
    );
    // Targets: the chart's Services of release "hishamos" on their ports.
    const job = config.scrape_configs.find((j) => j.job_name === 'hishamos')!;
    const chartServices = byKind(chart, 'Service').map(
      (s) => `${s.metadata.name}:${(s as unknown as { spec: { ports: { port: number }[] } }).spec.ports[0].port}`,
    );
    expect(job.static_configs.map((c) => c.targets[0]).sort()).toEqual(chartServices.sort());
    expect(job.static_configs.map((c) => c.labels?.service)).toEqual(SERVICE_NAMES);
  });

  it('routes Alertmanager to the alerting webhook with the service token', () => {
    const am = parse(readFileSync(join(K8S_DIR, 'alertmanager/alertmanager.yml'), 'utf8')) as {
      receivers: {
        webhook_configs?: { url: string; http_config: { authorization: { credentials_file: string } } }[];
      }[];
    };
    const hook = am.receivers.flatMap((r) => r.webhook_configs ?? [])[0];
    named(chart, 'Service', 'hishamos-alerting');
    expect(hook.url).toBe(`http://hishamos-alerting:${SERVICES.alerting}/v1/alertmanager/webhook`);
    const spec = workload(objects, 'alertmanager').spec.template.spec;
    const secret = spec.volumes?.find((v) => v.secret)?.secret;
    const mount = spec.containers[0].volumeMounts?.find((m) => m.name === 'secrets')?.mountPath;
    expect(`${mount}/${secret?.items?.[0].path}`).toBe(hook.http_config.authorization.credentials_file);
    expect(secret).toEqual({
      secretName: 'hishamos-secrets',
      items: [{ key: 'SERVICE_TOKEN', path: 'hishamos-alerting-token' }],
    });
  });

  it('labels the dependencies so the NetworkPolicy peers of values-dev.yaml select them', () => {
    const values = parse(readFileSync(DEV_VALUES, 'utf8')) as {
      networkPolicy: Record<
        string,
        {
          to?: { podSelector?: { matchLabels: Record<string, string> } }[];
          from?: { podSelector?: { matchLabels: Record<string, string> } }[];
        }
      >;
    };
    const expectations: [string, string][] = [
      ['kafka', 'kafka'],
      ['postgres', 'postgres'],
      ['vault', 'vault'],
      ['prometheus', 'prometheus'],
      ['alertmanager', 'alertmanager'],
    ];
    for (const [rule, target] of expectations) {
      const peers = values.networkPolicy[rule].to ?? values.networkPolicy[rule].from ?? [];
      expect(peers).toHaveLength(1);
      const labels = workload(objects, target).spec.template.metadata.labels;
      for (const [k, v] of Object.entries(peers[0].podSelector!.matchLabels))
        expect({ rule, k, v: labels[k] }).toEqual({ rule, k, v });
    }
    // And the chart points at their Services.
    const cm = (named(chart, 'ConfigMap', 'hishamos-config') as unknown as { data: Record<string, string> }).data;
    expect(cm.KAFKA_BROKERS).toBe('kafka.hishamos-dev.svc.cluster.local:9092');
    const secretsEnv = (named(chart, 'ConfigMap', 'hishamos-secrets') as unknown as { data: Record<string, string> })
      .data;
    expect(secretsEnv.VAULT_URL).toBe('http://vault:8200');
    const alertingEnv = (named(chart, 'ConfigMap', 'hishamos-alerting') as unknown as { data: Record<string, string> })
      .data;
    expect([alertingEnv.SMTP_HOST, alertingEnv.SMTP_PORT]).toEqual(['mailpit', '1025']);
    for (const s of ['kafka', 'vault', 'mailpit', 'postgres', 'prometheus', 'alertmanager'])
      expect(named(objects, 'Service', s)).toBeDefined();
  });

  describe('dev-secrets.sh (against a fake kubectl)', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'hishamos-dev-secrets-'));
      // A kubectl that keeps Secrets as files: state/<name>/<key>.
      writeFileSync(
        join(dir, 'kubectl'),
        `#!/usr/bin/env bash
set -euo pipefail
state="${dir}/state"; mkdir -p "$state"
echo "$*" >> "${dir}/calls"
[ "$1" = "-n" ] && shift 2
case "$1 $2" in
  "get namespace") exit 0 ;;
  "create namespace") exit 0 ;;
  "get secret")
    name=$3
    [ -d "$state/$name" ] || exit 1
    if [ "\${4:-}" = "-o" ]; then key=$(echo "$5" | sed -E 's/^jsonpath=\\{\\.data\\.(.*)\\}$/\\1/'); base64 -w0 < "$state/$name/$key"; fi
    exit 0 ;;
  "create secret")
    name=$4; shift 4; mkdir -p "$state/$name"
    for a in "$@"; do kv=\${a#--from-literal=}; printf '%s' "\${kv#*=}" > "$state/$name/\${kv%%=*}"; done ;;
  *) echo "unexpected kubectl $*" >&2; exit 3 ;;
esac
`,
      );
      chmodSync(join(dir, 'kubectl'), 0o755);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const run = () =>
      spawnSync('bash', [join(K8S_DIR, 'dev-secrets.sh')], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
    const secret = (name: string): Record<string, string> =>
      Object.fromEntries(
        readdirSync(join(dir, 'state', name)).map((k) => [k, readFileSync(join(dir, 'state', name, k), 'utf8')]),
      );

    it('creates every key the chart reads with values-dev.yaml, with role URLs the migrations can provision', () => {
      const r = run();
      expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const created = secret('hishamos-secrets');
      const referenced = new Set<string>();
      for (const o of [...byKind(chart, 'Deployment'), ...byKind(chart, 'Job')]) {
        for (const c of (o as unknown as Workload).spec.template.spec.containers) {
          for (const e of c.env ?? [])
            if (e.valueFrom?.secretKeyRef?.name === 'hishamos-secrets') referenced.add(e.valueFrom.secretKeyRef.key);
        }
      }
      expect(Object.keys(created).sort()).toEqual([...referenced].sort());
      expect(new URL(created.DATABASE_ADMIN_URL).password).toBe(secret('postgres-admin').POSTGRES_PASSWORD);
      expect(created.VAULT_TOKEN).toBe(secret('vault-dev')['root-token']);
      for (const name of SERVICE_NAMES) {
        const url = new URL(created[`DATABASE_URL_${name.replace(/-/g, '_').toUpperCase()}`]);
        expect([url.username, url.host, url.pathname]).toEqual([
          `hishamos_${name.replace(/-/g, '_')}`,
          'postgres:5432',
          '/hishamos',
        ]);
        expect(url.password).toMatch(/^[0-9a-f]{32}$/);
      }
      expect(created.SERVICE_TOKEN).toMatch(/^[0-9a-f]{64}$/);
    });

    it('keeps existing Secrets on a second run', () => {
      const before = secret('hishamos-secrets');
      const r = run();
      expect(r.status).toBe(0);
      expect(secret('hishamos-secrets')).toEqual(before);
      expect(readFileSync(join(dir, 'calls'), 'utf8').match(/create secret generic hishamos-secrets/g)).toHaveLength(1);
    });
  });
});
