// Validates Kubernetes objects against the OpenAPI schemas of the kubernetes-models packages:
// `new Deployment(obj).validate()` for built-in kinds (kubernetes-models) and ServiceMonitor /
// PrometheusRule (@kubernetes-models/prometheus-operator).
// Runs as a child process because these packages are ESM-only and Jest runs tests as CommonJS.
// stdin: JSON array of objects. stdout: JSON array of { kind, name, error } (error null = valid).
const PACKAGES = 'kubernetes-models@5.1.0 and @kubernetes-models/prometheus-operator@6.0.0';

function modulePath(apiVersion) {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function describe(err) {
  if (Array.isArray(err?.errors) && err.errors.length > 0) {
    return err.errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
  }
  return String(err?.message ?? err);
}

const objects = JSON.parse(await readStdin());
const modules = new Map();
const results = [];
for (const obj of objects) {
  const name = obj?.metadata?.name ?? '(unnamed)';
  const kind = obj?.kind ?? '(no kind)';
  const path = modulePath(String(obj?.apiVersion ?? ''));
  if (!modules.has(path)) {
    try {
      modules.set(path, await import(path));
    } catch (err) {
      if (err?.code === 'ERR_MODULE_NOT_FOUND' && /kubernetes-models/.test(String(err.message))) {
        process.stderr.write(
          `cannot load ${path}: ${err.message}\nInstall ${PACKAGES} as devDependencies of the repository root.\n`,
        );
        process.exit(2);
      }
      modules.set(path, null);
    }
  }
  const mod = modules.get(path);
  const Model = mod?.[kind];
  if (typeof Model !== 'function') {
    results.push({ kind, name, error: `no model for apiVersion ${obj?.apiVersion} kind ${kind} in ${path}` });
    continue;
  }
  if (Model.apiVersion !== obj.apiVersion || Model.kind !== kind) {
    results.push({
      kind,
      name,
      error: `model is ${Model.apiVersion}/${Model.kind}, object is ${obj.apiVersion}/${kind}`,
    });
    continue;
  }
  try {
    new Model(obj).validate();
    results.push({ kind, name, error: null });
  } catch (err) {
    results.push({ kind, name, error: describe(err) });
  }
}
process.stdout.write(JSON.stringify(results));
