import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, cpSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { CHART_DIR, HELM_BIN } from './paths';

/** A Kubernetes object as rendered by the chart. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The Kubernetes version the chart is rendered for (kubeVersion in Chart.yaml is >=1.27). */
export const KUBE_VERSION = '1.33.0';

/** The helm binary of scripts/install-helm.sh; a missing helm fails the test, it never skips it. */
export function helmBinary(): string {
  if (!existsSync(HELM_BIN)) {
    throw new Error(
      `helm not found at ${HELM_BIN}. Run scripts/install-helm.sh (it builds Helm 3 from the Go module proxy) and run the tests again.`,
    );
  }
  return HELM_BIN;
}

export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(tmpdir(), 'hishamos-helm-cache'),
      HELM_CONFIG_HOME: join(tmpdir(), 'hishamos-helm-config'),
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  valuesFiles?: string[];
  /** --set entries (key=value). */
  set?: string[];
  /** --set-json entries (key=json). */
  setJson?: string[];
  release?: string;
  namespace?: string;
  chartDir?: string;
}

function valueArgs(o: RenderOptions): string[] {
  const args: string[] = [];
  for (const f of o.valuesFiles ?? []) args.push('-f', f);
  for (const s of o.set ?? []) args.push('--set', s);
  for (const s of o.setJson ?? []) args.push('--set-json', s);
  return args;
}

export function helmTemplate(o: RenderOptions = {}): HelmResult {
  return helm([
    'template',
    o.release ?? 'hishamos',
    o.chartDir ?? CHART_DIR,
    '--namespace',
    o.namespace ?? 'hishamos',
    '--kube-version',
    KUBE_VERSION,
    ...valueArgs(o),
  ]);
}

export function helmLint(o: RenderOptions = {}): HelmResult {
  return helm([
    'lint',
    o.chartDir ?? CHART_DIR,
    '--strict',
    '--kube-version',
    KUBE_VERSION,
    '--namespace',
    o.namespace ?? 'hishamos',
    ...valueArgs(o),
  ]);
}

export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

/** Renders the chart and returns its objects; a failed render fails the test with helm's message. */
export function render(o: RenderOptions = {}): K8sObject[] {
  const r = helmTemplate(o);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

/**
 * Renders NOTES.txt, which `helm template` never prints: a copy of the chart gets a template
 * that puts the NOTES text, evaluated with `tpl`, into a ConfigMap.
 */
export function renderNotes(o: RenderOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'hishamos-notes-'));
  try {
    const chart = join(dir, 'hishamos');
    cpSync(o.chartDir ?? CHART_DIR, chart, { recursive: true });
    renameSync(join(chart, 'templates', 'NOTES.txt'), join(chart, 'files', 'NOTES.txt'));
    writeFileSync(
      join(chart, 'templates', 'zz-notes-preview.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-preview\ndata:\n  NOTES.txt: {{ tpl (.Files.Get "files/NOTES.txt") . | toJson }}\n',
    );
    const r = helm([
      'template',
      o.release ?? 'hishamos',
      chart,
      '--namespace',
      o.namespace ?? 'hishamos',
      '--kube-version',
      KUBE_VERSION,
      '--show-only',
      'templates/zz-notes-preview.yaml',
      ...valueArgs(o),
    ]);
    if (r.code !== 0) throw new Error(`rendering NOTES.txt failed:\n${r.stderr}`);
    return (parse(r.stdout) as { data: Record<string, string> }).data['NOTES.txt'];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} named ${name} in: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}
