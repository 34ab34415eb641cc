import { helmLint, helmTemplate, RenderOptions } from './support/helm';

/*
 * values.schema.json rejects bad values before anything renders. Each case must fail both
 * `helm template` and `helm lint`, and the error must name the offending value.
 */

interface Case {
  name: string;
  values: RenderOptions;
  message: string[];
}

const CASES: Case[] = [
  {
    name: 'negative replicas',
    values: { set: ['services.agent-gateway.replicaCount=-1'] },
    message: ["at '/services/agent-gateway/replicaCount': minimum: got -1, want 0"],
  },
  {
    name: 'unknown image pullPolicy',
    values: { set: ['image.pullPolicy=Sometimes'] },
    message: ["at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"],
  },
  {
    name: 'empty existingSecret for the service token',
    values: { set: ['serviceToken.existingSecret='] },
    message: ["at '/serviceToken/existingSecret': minLength: got 0, want 1"],
  },
  {
    name: 'missing existingSecret for the databases',
    values: { set: ['database.existingSecret=null'] },
    message: ["at '/database': missing property 'existingSecret'"],
  },
  {
    name: 'the vault backend without a Vault URL',
    values: { set: ['secretsService.backend=vault'] },
    message: ["at '/secretsService/vault/url': minLength: got 0, want 1"],
  },
  {
    name: 'an unknown secrets backend',
    values: { set: ['secretsService.backend=file'] },
    message: ["at '/secretsService/backend': value must be one of 'auto', 'vault', 'local'"],
  },
  {
    name: 'offlineProvider that is not a boolean',
    values: { set: ['gateway.offlineProvider=maybe'] },
    message: ["at '/gateway/offlineProvider': got string, want boolean"],
  },
  {
    name: 'Vault URL without a Secret for its token',
    values: { set: ['secretsService.vault.url=http://vault:8200'] },
    message: ["at '/secretsService/vault/existingSecret': minLength: got 0, want 1"],
  },
  {
    name: 'Vault AppRole without a Secret',
    values: { set: ['secretsService.vault.url=http://vault:8200', 'secretsService.vault.authMethod=approle'] },
    message: ["at '/secretsService/vault/existingSecret': minLength: got 0, want 1"],
  },
  {
    name: 'SMTP user without a Secret for the password',
    values: {
      set: ['alerting.smtp.host=smtp.example.com', 'alerting.smtp.from=a@example.com', 'alerting.smtp.user=alerts'],
    },
    message: ["at '/alerting/smtp/existingSecret': minLength: got 0, want 1"],
  },
  {
    name: 'HS256 JWT without a Secret',
    values: { set: ['gateway.jwt.existingSecret='] },
    message: ["at '/gateway/jwt/existingSecret': minLength: got 0, want 1"],
  },
  {
    name: 'RS256 JWT without a JWKS URL',
    values: { set: ['gateway.jwt.algorithm=RS256'] },
    message: ["at '/gateway/jwt/jwksUrl': minLength: got 0, want 1"],
  },
  {
    name: 'a secret value instead of a Secret reference',
    values: { set: ['serviceToken.value=hunter2'] },
    message: ["at '/serviceToken': additional properties 'value' not allowed"],
  },
  {
    name: 'malformed memory quantity',
    values: { set: ['services.orchestrator.resources.limits.memory=lots'] },
    message: ["at '/services/orchestrator/resources/limits/memory': 'lots' does not match pattern"],
  },
  {
    name: 'misspelled resources key',
    values: { set: ['services.secrets.resources.limit.memory=1Gi'] },
    message: ["at '/services/secrets/resources': additional properties 'limit' not allowed"],
  },
  {
    name: 'resources without requests',
    values: { set: ['services.alerting.resources.requests=null'] },
    message: ["at '/services/alerting/resources': missing property 'requests'"],
  },
  {
    name: 'unknown service',
    values: { set: ['services.billing.port=8090'] },
    message: ["at '/services': additional properties 'billing' not allowed"],
  },
  {
    name: 'no Kafka brokers',
    values: { setJson: ['config.kafka.brokers=[]'] },
    message: ["at '/config/kafka/brokers': minItems: got 0, want 1"],
  },
  {
    name: 'bad ENVIRONMENT',
    values: { set: ['config.environment=prod'] },
    message: ["at '/config/environment': value must be one of 'development', 'staging', 'production'"],
  },
  {
    name: 'bad LOG_LEVEL',
    values: { set: ['config.logLevel=verbose'] },
    message: ["at '/config/logLevel': value must be one of 'debug', 'info', 'warn', 'error'"],
  },
  {
    name: 'port out of range',
    values: { set: ['services.feedback-ml.port=70000'] },
    message: ["at '/services/feedback-ml/port': maximum: got 70,000, want 65,535"],
  },
  {
    name: 'NetworkPolicy ingress rule open to every source',
    values: { setJson: ['networkPolicy.prometheus.from=[]'] },
    message: ["at '/networkPolicy/prometheus/from': minItems: got 0, want 1"],
  },
  {
    name: 'Ingress enabled without hosts',
    values: { set: ['ingress.enabled=true'], setJson: ['ingress.hosts=[]'] },
    message: ["at '/ingress/hosts': minItems: got 0, want 1"],
  },
  {
    name: 'root filesystem made writable',
    values: { set: ['containerSecurityContext.readOnlyRootFilesystem=false'] },
    message: ["at '/containerSecurityContext/readOnlyRootFilesystem'"],
  },
  {
    name: 'running as root allowed',
    values: { set: ['podSecurityContext.runAsNonRoot=false'] },
    message: ["at '/podSecurityContext/runAsNonRoot'"],
  },
  {
    name: 'unknown top-level key',
    values: { set: ['replicas=3'] },
    message: ["at '': additional properties 'replicas' not allowed"],
  },
];

describe('values.schema.json', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('rejects %s', (_name, c) => {
    const template = helmTemplate(c.values);
    expect(template.code).not.toBe(0);
    expect(template.stderr).toContain("values don't meet the specifications of the schema");
    for (const m of c.message) expect(template.stderr).toContain(m);
    const lint = helmLint(c.values);
    expect(lint.code).not.toBe(0);
    for (const m of c.message) expect(lint.stdout + lint.stderr).toContain(m);
  });

  it('rejects autoscaling with minReplicas above maxReplicas (checked by the template)', () => {
    const r = helmTemplate({
      set: [
        'services.secrets.autoscaling.enabled=true',
        'services.secrets.autoscaling.minReplicas=5',
        'services.secrets.autoscaling.maxReplicas=2',
      ],
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('services.secrets.autoscaling: minReplicas (5) must not exceed maxReplicas (2)');
  });

  it('accepts the documented alternatives: Vault token auth, RS256 with JWKS, minAvailable PDB, memory HPA target', () => {
    const r = helmTemplate({
      set: [
        'secretsService.vault.url=http://vault:8200',
        'secretsService.vault.existingSecret=vault-token',
        'gateway.jwt.algorithm=RS256',
        'gateway.jwt.jwksUrl=https://idp.example.com/.well-known/jwks.json',
        'gateway.jwt.existingSecret=',
        'services.orchestrator.podDisruptionBudget.minAvailable=1',
        'services.orchestrator.autoscaling.enabled=true',
        'services.orchestrator.autoscaling.targetMemoryUtilizationPercentage=80',
      ],
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('name: VAULT_TOKEN');
    expect(r.stdout).toContain('JWT_JWKS_URL: "https://idp.example.com/.well-known/jwks.json"');
    expect(r.stdout).not.toContain('name: JWT_SECRET_KEY');
  });
});
