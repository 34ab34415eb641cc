import { byKind, helmLint, K8sObject, named, render, renderNotes } from './support/helm';
import { DEV_VALUES, PRODUCTION_VALUES, SERVICE_NAMES, SERVICES, ServiceName } from './support/paths';
import { invalidObjects } from './support/validate';

/* The chart rendered with helm template, checked object by object. */

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  volumes?: { name: string; emptyDir?: Record<string, unknown> }[];
  automountServiceAccountToken?: boolean;
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}
interface Peer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values: string[] }[];
  };
}
interface PolicyPort {
  port: number;
  protocol: string;
}
interface NetworkPolicySpec {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes: string[];
  ingress?: { from?: Peer[]; ports?: PolicyPort[] }[];
  egress?: { to?: Peer[]; ports?: PolicyPort[] }[];
}

const SECRET_ENV_NAMES = [
  'SERVICE_TOKEN',
  'DATABASE_URL',
  'DATABASE_ADMIN_URL',
  'JWT_SECRET_KEY',
  'HISHAMOS_BOOTSTRAP_API_KEY',
  'ENCRYPTION_KEY',
  'VAULT_TOKEN',
  'VAULT_ROLE_ID',
  'VAULT_SECRET_ID',
  'SMTP_PASSWORD',
];

const spec = <T>(o: K8sObject): T => (o as unknown as { spec: T }).spec;
const podTemplate = (o: K8sObject): PodTemplate => spec<{ template: PodTemplate }>(o).template;
const mainContainer = (o: K8sObject): Container => podTemplate(o).spec.containers[0];
const configMapData = (o: K8sObject): Record<string, string> => (o as unknown as { data: Record<string, string> }).data;

/** Every env name a service's pod gets: ConfigMaps through envFrom, then env entries. */
function podEnv(
  objects: K8sObject[],
  deployment: K8sObject,
): Map<string, EnvVar | { fromConfigMap: string; value: string }> {
  const env = new Map<string, EnvVar | { fromConfigMap: string; value: string }>();
  const c = mainContainer(deployment);
  for (const from of c.envFrom ?? []) {
    if (from.secretRef) throw new Error(`envFrom secretRef in ${deployment.metadata.name}: import secrets key by key`);
    const cm = named(objects, 'ConfigMap', from.configMapRef!.name);
    for (const [k, v] of Object.entries(configMapData(cm))) env.set(k, { fromConfigMap: cm.metadata.name, value: v });
  }
  for (const e of c.env ?? []) env.set(e.name, e);
  return env;
}

function expectHardenedPod(pod: PodSpec, where: string): void {
  expect({ where, ctx: pod.securityContext }).toEqual({
    where,
    ctx: expect.objectContaining({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } }),
  });
  expect(pod.automountServiceAccountToken).toBe(false);
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    expect({ where, container: c.name, ctx: c.securityContext }).toEqual({
      where,
      container: c.name,
      ctx: expect.objectContaining({
        runAsNonRoot: true,
        runAsUser: 10001,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      }),
    });
    const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect({ where, tmpMount: tmp?.name }).toEqual({ where, tmpMount: 'tmp' });
  }
  expect(pod.volumes?.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
}

const VALUE_SETS: [string, string[]][] = [
  ['default values', []],
  ['values-production.yaml', [PRODUCTION_VALUES]],
  ['deploy/k8s/values-dev.yaml', [DEV_VALUES]],
];

describe.each(VALUE_SETS)('chart with %s', (_label, valuesFiles) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render({ valuesFiles });
  });

  it('passes helm lint --strict', () => {
    const r = helmLint({ valuesFiles });
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({
      code: 0,
      out: expect.stringContaining('0 chart(s) failed'),
    });
  });

  it('renders only objects that are valid against the Kubernetes schemas (kubernetes-models)', () => {
    expect(objects.length).toBeGreaterThan(20);
    expect(invalidObjects(objects)).toEqual([]);
  });

  it('renders no Secret and reads every secret setting from an existing Secret by key', () => {
    expect(byKind(objects, 'Secret')).toEqual([]);
    for (const cm of byKind(objects, 'ConfigMap')) {
      const secretKeys = Object.keys(configMapData(cm)).filter((k) => SECRET_ENV_NAMES.includes(k));
      expect({ configMap: cm.metadata.name, secretKeys }).toEqual({ configMap: cm.metadata.name, secretKeys: [] });
    }
    for (const o of [...byKind(objects, 'Deployment'), ...byKind(objects, 'Job')]) {
      for (const c of podTemplate(o).spec.containers) {
        for (const e of c.env ?? []) {
          if (!SECRET_ENV_NAMES.includes(e.name) && !e.name.startsWith('DATABASE_URL_')) continue;
          const where = `${o.metadata.name}/${e.name}`;
          expect({
            where,
            value: e.value,
            secret: e.valueFrom?.secretKeyRef?.name,
            key: e.valueFrom?.secretKeyRef?.key,
          }).toEqual({
            where,
            value: undefined,
            secret: expect.stringMatching(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/),
            key: expect.stringMatching(/^[-._a-zA-Z0-9]+$/),
          });
        }
        expect((c.envFrom ?? []).filter((f) => f.secretRef)).toEqual([]);
      }
    }
  });

  it('deploys the six services, each with a Deployment and a ClusterIP Service on its port', () => {
    const deployments = byKind(objects, 'Deployment');
    expect(deployments.map((d) => d.metadata.labels?.['app.kubernetes.io/component']).sort()).toEqual(
      [...SERVICE_NAMES].sort(),
    );
    for (const name of SERVICE_NAMES) {
      const port = SERVICES[name];
      const d = named(objects, 'Deployment', `hishamos-${name}`);
      const c = mainContainer(d);
      expect(c.command).toEqual(['node', `dist/services/${name}/src/main.js`]);
      expect(c.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
      const svc = named(objects, 'Service', `hishamos-${name}`);
      const svcSpec = spec<{
        type: string;
        ports: { name: string; port: number; targetPort: string }[];
        selector: Record<string, string>;
      }>(svc);
      expect(svcSpec.type).toBe('ClusterIP');
      expect(svcSpec.ports).toEqual([{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }]);
      // The Service selects exactly this Deployment's pods.
      const selector = spec<{ selector: { matchLabels: Record<string, string> } }>(d).selector.matchLabels;
      expect(svcSpec.selector).toEqual(selector);
      expect(podTemplate(d).metadata.labels).toEqual(expect.objectContaining(selector));
      // Config changes roll the pods.
      expect(podTemplate(d).metadata.annotations?.['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
    }
  });

  it('probes /health/live (startup, liveness) and /health/ready (readiness) on the service port', () => {
    for (const name of SERVICE_NAMES) {
      const c = mainContainer(named(objects, 'Deployment', `hishamos-${name}`));
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    }
  });

  it('runs every pod as uid 10001, non-root, read-only, no capabilities, RuntimeDefault seccomp, /tmp on an emptyDir', () => {
    for (const o of [...byKind(objects, 'Deployment'), ...byKind(objects, 'Job')])
      expectHardenedPod(podTemplate(o).spec, `${o.kind}/${o.metadata.name}`);
    for (const name of SERVICE_NAMES) {
      const r = mainContainer(named(objects, 'Deployment', `hishamos-${name}`)).resources;
      expect({ name, requests: Object.keys(r?.requests ?? {}).sort(), memoryLimit: typeof r?.limits?.memory }).toEqual({
        name,
        requests: ['cpu', 'memory'],
        memoryLimit: 'string',
      });
    }
  });

  it('gives every service the environment of the configuration list, secrets by reference', () => {
    for (const name of SERVICE_NAMES) {
      const env = podEnv(objects, named(objects, 'Deployment', `hishamos-${name}`));
      const plain = (k: string): string | undefined => {
        const v = env.get(k);
        return v && 'fromConfigMap' in v ? v.value : undefined;
      };
      for (const k of [
        'ENVIRONMENT',
        'LOG_LEVEL',
        'HISHAMOS_MODE',
        'DATABASE_POOL_SIZE',
        'KAFKA_BROKERS',
        'KAFKA_TOPIC_PARTITIONS',
        'KAFKA_REPLICATION_FACTOR',
        'SECRETS_URL',
        'METERING_URL',
      ]) {
        expect({ name, k, present: plain(k) !== undefined }).toEqual({ name, k, present: true });
      }
      expect(plain('PORT')).toBe(String(SERVICES[name]));
      expect(plain('SERVICE')).toBe(name);
      expect(plain('HISHAMOS_MODE')).toBe('distributed');
      expect(plain('SECRETS_URL')).toBe('http://hishamos-secrets:8085');
      expect(plain('METERING_URL')).toBe('http://hishamos-usage-metering:8082');
      expect(['development', 'staging', 'production']).toContain(plain('ENVIRONMENT'));
      expect(['debug', 'info', 'warn', 'error']).toContain(plain('LOG_LEVEL'));
      for (const k of ['SERVICE_TOKEN', 'DATABASE_URL']) {
        const v = env.get(k) as EnvVar | undefined;
        expect({ name, k, ref: v?.valueFrom?.secretKeyRef?.key }).toEqual({ name, k, ref: expect.any(String) });
      }
      const gatewayOnly = [
        'JWT_SECRET_KEY',
        'JWT_ALGORITHM',
        'JWT_ACCESS_TOKEN_EXPIRE_MINUTES',
        'HISHAMOS_BOOTSTRAP_API_KEY',
      ];
      const orchestratorOnly = ['MAX_CONCURRENT_WORKFLOWS', 'MAX_CONCURRENT_TASKS_PER_AGENT'];
      const secretsOnly = ['ENCRYPTION_KEY'];
      for (const [owner, keys] of [
        ['agent-gateway', gatewayOnly],
        ['orchestrator', orchestratorOnly],
        ['secrets', secretsOnly],
      ] as [ServiceName, string[]][]) {
        for (const k of keys) expect({ name, k, present: env.has(k) }).toEqual({ name, k, present: name === owner });
      }
    }
    const gw = podEnv(objects, named(objects, 'Deployment', 'hishamos-agent-gateway'));
    expect((gw.get('HISHAMOS_BOOTSTRAP_API_KEY') as EnvVar).valueFrom?.secretKeyRef?.optional).toBe(true);
    const orch = podEnv(objects, named(objects, 'Deployment', 'hishamos-orchestrator'));
    expect(orch.get('MAX_CONCURRENT_WORKFLOWS')).toEqual(expect.objectContaining({ value: '100' }));
    expect(orch.get('MAX_CONCURRENT_TASKS_PER_AGENT')).toEqual(expect.objectContaining({ value: '5' }));
  });

  it('runs migrations in a pre-install,pre-upgrade hook Job with the admin URL and every service role URL', () => {
    const job = named(objects, 'Job', 'hishamos-migrations');
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const c = podTemplate(job).spec.containers[0];
    expect(c.command).toEqual(['node', 'dist/libs/cli/src/main.js', 'migrate', '--all']);
    const names = (c.env ?? []).map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'DATABASE_ADMIN_URL',
        ...SERVICE_NAMES.map((s) => `DATABASE_URL_${s.toUpperCase().replace(/-/g, '_')}`),
      ]),
    );
    // A pre-install hook runs before the chart's own objects exist: it must not need them.
    expect(c.envFrom ?? []).toEqual([]);
    expect((podTemplate(job).spec as { serviceAccountName?: string }).serviceAccountName).toBeUndefined();
    expect(spec<{ template: { spec: { restartPolicy: string } } }>(job).template.spec.restartPolicy).toBe('Never');
  });

  it('has one PodDisruptionBudget per service that selects its pods, when enabled', () => {
    const pdbs = byKind(objects, 'PodDisruptionBudget');
    for (const pdb of pdbs) {
      const component = pdb.metadata.labels?.['app.kubernetes.io/component'] as ServiceName;
      const d = named(objects, 'Deployment', `hishamos-${component}`);
      expect(spec<{ selector: unknown }>(pdb).selector).toEqual(spec<{ selector: unknown }>(d).selector);
      const s = spec<{ minAvailable?: number; maxUnavailable?: number }>(pdb);
      expect(Number(s.minAvailable !== undefined) + Number(s.maxUnavailable !== undefined)).toBe(1);
    }
    if (valuesFiles.includes(DEV_VALUES)) expect(pdbs).toEqual([]);
    else expect(pdbs.map((p) => p.metadata.name).sort()).toEqual(SERVICE_NAMES.map((s) => `hishamos-${s}`).sort());
  });

  it('puts only the agent-gateway behind an Ingress', () => {
    for (const ing of byKind(objects, 'Ingress')) {
      const rules = spec<{
        rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[];
      }>(ing).rules;
      for (const rule of rules) {
        for (const p of rule.http.paths)
          expect(p.backend.service).toEqual({ name: 'hishamos-agent-gateway', port: { name: 'http' } });
      }
    }
    expect(byKind(objects, 'Ingress').length).toBe(valuesFiles.length === 0 ? 0 : 1);
    // No Service is exposed any other way.
    for (const svc of byKind(objects, 'Service')) expect(spec<{ type: string }>(svc).type).toBe('ClusterIP');
  });

  describe('NetworkPolicies', () => {
    const policyOf = (component: string): NetworkPolicySpec =>
      spec<NetworkPolicySpec>(named(objects, 'NetworkPolicy', `hishamos-${component}`));
    const releasePeer = (p: Peer): boolean =>
      p.ipBlock === undefined &&
      p.namespaceSelector === undefined &&
      p.podSelector?.matchLabels?.['app.kubernetes.io/instance'] === 'hishamos';
    const egressPorts = (s: NetworkPolicySpec): number[] =>
      (s.egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));

    it('deny all ingress and egress of the release pods by default', () => {
      const deny = spec<NetworkPolicySpec>(named(objects, 'NetworkPolicy', 'hishamos-default-deny'));
      expect(deny).toEqual({
        podSelector: {
          matchLabels: { 'app.kubernetes.io/name': 'hishamos', 'app.kubernetes.io/instance': 'hishamos' },
        },
        policyTypes: ['Ingress', 'Egress'],
      });
    });

    it('let traffic from outside the release reach only the agent-gateway (plus Prometheus and Alertmanager)', () => {
      const outsideSources = (name: string): string[] =>
        (policyOf(name).ingress ?? [])
          .filter((r) => !(r.from ?? []).every(releasePeer))
          .map((r) => JSON.stringify(r.from));
      // Prometheus scrapes every service: the same peers on each policy's first rule.
      const prometheus = outsideSources('orchestrator')[0];
      for (const name of SERVICE_NAMES) {
        const s = policyOf(name);
        expect(s.podSelector.matchLabels?.['app.kubernetes.io/component']).toBe(name);
        expect(s.policyTypes).toEqual(['Ingress', 'Egress']);
        for (const rule of s.ingress ?? []) {
          // A rule without peers would admit every source.
          expect({ name, peers: (rule.from ?? []).length > 0 }).toEqual({ name, peers: true });
          expect(rule.ports).toEqual([{ protocol: 'TCP', port: SERVICES[name] }]);
        }
        const sources = outsideSources(name);
        expect(sources[0]).toBe(prometheus);
        const extra = name === 'agent-gateway' || name === 'alerting' ? 1 : 0;
        expect({ name, outside: sources.length }).toEqual({ name, outside: 1 + extra });
      }
      // The ingress controller's peers are on the gateway's policy and nowhere else.
      const ingressController = outsideSources('agent-gateway')[1];
      expect(ingressController).not.toBe(prometheus);
      for (const name of SERVICE_NAMES.filter((n) => n !== 'agent-gateway')) {
        expect({ name, sources: outsideSources(name) }).toEqual({
          name,
          sources: expect.not.arrayContaining([ingressController]),
        });
      }
      // Inside the release: usage-metering accepts the gateway, secrets accepts the six services.
      const insideSources = (name: string): Peer[] =>
        (policyOf(name).ingress ?? []).filter((r) => (r.from ?? []).every(releasePeer)).flatMap((r) => r.from ?? []);
      expect(
        insideSources('usage-metering').map((p) => p.podSelector?.matchLabels?.['app.kubernetes.io/component']),
      ).toEqual(['agent-gateway']);
      expect(insideSources('secrets').map((p) => p.podSelector?.matchExpressions)).toEqual([
        [{ key: 'app.kubernetes.io/component', operator: 'In', values: SERVICE_NAMES }],
      ]);
      for (const name of ['agent-gateway', 'orchestrator', 'alerting', 'feedback-ml'])
        expect({ name, inside: insideSources(name) }).toEqual({ name, inside: [] });
    });

    it('let every service reach DNS, Kafka, Postgres and the secrets service, and only the gateway and alerting reach the internet', () => {
      for (const name of SERVICE_NAMES) {
        const s = policyOf(name);
        const ports = egressPorts(s);
        expect({ name, ports }).toEqual({ name, ports: expect.arrayContaining([53, 9092, 5432]) });
        if (name !== 'secrets') expect({ name, ports }).toEqual({ name, ports: expect.arrayContaining([8085]) });
        expect({ name, https: ports.includes(443) }).toEqual({
          name,
          https: name === 'agent-gateway' || name === 'alerting',
        });
        expect({ name, metering: ports.includes(8082) }).toEqual({ name, metering: name === 'agent-gateway' });
      }
      const migrations = spec<NetworkPolicySpec>(named(objects, 'NetworkPolicy', 'hishamos-migrations'));
      expect(egressPorts(migrations).sort((a, b) => a - b)).toEqual([53, 53, 5432]);
      expect(migrations.ingress).toBeUndefined();
    });
  });

  it('renders NOTES.txt with the next steps: bootstrap key, port-forward, health checks', () => {
    const notes = renderNotes({ valuesFiles });
    expect(notes).toContain("get secret hishamos-secrets -o jsonpath='{.data.HISHAMOS_BOOTSTRAP_API_KEY}' | base64 -d");
    expect(notes).toContain('port-forward svc/hishamos-agent-gateway 8080:8080');
    expect(notes).toContain('curl -fsS http://127.0.0.1:8080/health/live');
    expect(notes).toContain('curl -fsS http://127.0.0.1:8080/health/ready');
    expect(notes).toContain('deploy/alertmanager/alertmanager.example.yml');
    expect(notes).toContain('/v1/alertmanager/webhook');
    expect(notes).not.toMatch(/<no value>/);
  });
});

describe('chart with default values', () => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render();
  });

  it('runs one replica of each service without autoscaling and with Kafka replication factor 1', () => {
    expect(byKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    for (const d of byKind(objects, 'Deployment')) expect(spec<{ replicas: number }>(d).replicas).toBe(1);
    expect(configMapData(named(objects, 'ConfigMap', 'hishamos-config')).KAFKA_REPLICATION_FACTOR).toBe('1');
  });

  it('allows the offline provider and picks the secrets backend automatically (a first install with no keys works)', () => {
    const gw = podEnv(objects, named(objects, 'Deployment', 'hishamos-agent-gateway'));
    expect(gw.get('OFFLINE_PROVIDER_ENABLED')).toEqual(expect.objectContaining({ value: 'true' }));
    const secrets = podEnv(objects, named(objects, 'Deployment', 'hishamos-secrets'));
    expect(secrets.get('SECRETS_BACKEND')).toEqual(expect.objectContaining({ value: 'auto' }));
  });

  it('leaves the Prometheus Operator objects off', () => {
    expect(byKind(objects, 'ServiceMonitor')).toEqual([]);
    expect(byKind(objects, 'PrometheusRule')).toEqual([]);
  });

  it('keeps every name within 63 characters for a long release name', () => {
    const release = 'a-very-long-release-name-for-hishamos-in-production-x';
    const long = render({ release });
    for (const o of long)
      expect({ name: o.metadata.name, ok: o.metadata.name.length <= 63 }).toEqual({ name: o.metadata.name, ok: true });
    expect(invalidObjects(long)).toEqual([]);
    const cm = long.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-config'))!;
    const secretsSvc = long.find(
      (o) => o.kind === 'Service' && o.metadata.labels?.['app.kubernetes.io/component'] === 'secrets',
    )!;
    expect(configMapData(cm).SECRETS_URL).toBe(`http://${secretsSvc.metadata.name}:8085`);
  });
});

describe('chart with values-production.yaml', () => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render({ valuesFiles: [PRODUCTION_VALUES] });
  });

  it('autoscales every service from 3 replicas and leaves replicas to the HPA', () => {
    const hpas = byKind(objects, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.metadata.name).sort()).toEqual(SERVICE_NAMES.map((s) => `hishamos-${s}`).sort());
    for (const h of hpas) {
      const s = spec<{ minReplicas: number; maxReplicas: number; scaleTargetRef: { kind: string; name: string } }>(h);
      expect(s.minReplicas).toBe(3);
      expect(s.maxReplicas).toBeGreaterThan(3);
      expect(s.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: h.metadata.name });
    }
    for (const d of byKind(objects, 'Deployment')) expect(spec<{ replicas?: number }>(d).replicas).toBeUndefined();
    for (const p of byKind(objects, 'PodDisruptionBudget'))
      expect(spec<{ minAvailable: number }>(p).minAvailable).toBe(2);
  });

  it('turns the offline provider off: a missing provider key is an error, not an offline answer', () => {
    const gw = podEnv(objects, named(objects, 'Deployment', 'hishamos-agent-gateway'));
    expect(gw.get('OFFLINE_PROVIDER_ENABLED')).toEqual(expect.objectContaining({ value: 'false' }));
  });

  it('uses Kafka replication factor 3 and the production environment', () => {
    const cm = configMapData(named(objects, 'ConfigMap', 'hishamos-config'));
    expect(cm.KAFKA_REPLICATION_FACTOR).toBe('3');
    expect(cm.ENVIRONMENT).toBe('production');
    expect(cm.KAFKA_BROKERS.split(',')).toHaveLength(3);
  });

  it('serves the gateway over TLS through the Ingress', () => {
    const ing = named(objects, 'Ingress', 'hishamos-agent-gateway');
    const s = spec<{
      ingressClassName: string;
      tls: { secretName: string; hosts: string[] }[];
      rules: { host: string }[];
    }>(ing);
    expect(s.ingressClassName).toBe('nginx');
    expect(s.tls).toEqual([{ secretName: 'hishamos-tls', hosts: ['hishamos.example.com'] }]);
    expect(s.rules.map((r) => r.host)).toEqual(['hishamos.example.com']);
  });

  it('authenticates the secrets service to Vault with AppRole and lets it reach Vault only', () => {
    const env = podEnv(objects, named(objects, 'Deployment', 'hishamos-secrets'));
    expect(env.get('VAULT_URL')).toEqual(
      expect.objectContaining({ value: 'http://vault.vault.svc.cluster.local:8200' }),
    );
    expect(env.get('VAULT_MOUNT')).toEqual(expect.objectContaining({ value: 'secret' }));
    // Production: Vault or refuse to start, never the local store as a silent fallback.
    expect(env.get('SECRETS_BACKEND')).toEqual(expect.objectContaining({ value: 'vault' }));
    expect((env.get('VAULT_ROLE_ID') as EnvVar).valueFrom?.secretKeyRef).toEqual({
      name: 'hishamos-vault',
      key: 'VAULT_ROLE_ID',
    });
    expect((env.get('VAULT_SECRET_ID') as EnvVar).valueFrom?.secretKeyRef).toEqual({
      name: 'hishamos-vault',
      key: 'VAULT_SECRET_ID',
    });
    expect(env.has('VAULT_TOKEN')).toBe(false);
    for (const name of SERVICE_NAMES) {
      const ports = (spec<NetworkPolicySpec>(named(objects, 'NetworkPolicy', `hishamos-${name}`)).egress ?? []).flatMap(
        (r) => (r.ports ?? []).map((p) => p.port),
      );
      expect({ name, vault: ports.includes(8200) }).toEqual({ name, vault: name === 'secrets' });
    }
  });

  it('configures SMTP for alerting with the password from a Secret', () => {
    const env = podEnv(objects, named(objects, 'Deployment', 'hishamos-alerting'));
    expect(env.get('SMTP_HOST')).toEqual(expect.objectContaining({ value: 'smtp.example.com' }));
    expect(env.get('SMTP_PORT')).toEqual(expect.objectContaining({ value: '587' }));
    expect((env.get('SMTP_PASSWORD') as EnvVar).valueFrom?.secretKeyRef).toEqual({
      name: 'hishamos-smtp',
      key: 'SMTP_PASSWORD',
    });
  });

  it('renders a ServiceMonitor that scrapes /metrics of the six services with the job and service labels of the rules', () => {
    const sm = named(objects, 'ServiceMonitor', 'hishamos');
    const s = spec<{
      selector: { matchLabels: Record<string, string>; matchExpressions: { values: string[] }[] };
      endpoints: { port: string; path: string; honorLabels: boolean; relabelings: { targetLabel: string }[] }[];
      namespaceSelector: { matchNames: string[] };
    }>(sm);
    expect(sm.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(s.namespaceSelector.matchNames).toEqual(['hishamos']);
    expect(s.selector.matchExpressions[0].values).toEqual(SERVICE_NAMES);
    expect(s.endpoints).toHaveLength(1);
    expect(s.endpoints[0]).toEqual(expect.objectContaining({ port: 'http', path: '/metrics', honorLabels: true }));
    expect(s.endpoints[0].relabelings.map((r) => r.targetLabel)).toEqual(['service', 'job']);
    // Every Service of the six is selected by the ServiceMonitor.
    for (const svc of byKind(objects, 'Service')) {
      for (const [k, v] of Object.entries(s.selector.matchLabels)) expect(svc.metadata.labels?.[k]).toBe(v);
      expect(s.selector.matchExpressions[0].values).toContain(svc.metadata.labels?.['app.kubernetes.io/component']);
    }
  });
});
