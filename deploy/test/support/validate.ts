import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { K8sObject } from './helm';

export interface ValidationResult {
  kind: string;
  name: string;
  error: string | null;
}

const SCRIPT = join(__dirname, 'validate-k8s-models.mjs');

/** Validates every object with kubernetes-models / @kubernetes-models/prometheus-operator. */
export function validateWithKubernetesModels(objects: K8sObject[]): ValidationResult[] {
  const r = spawnSync(process.execPath, [SCRIPT], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubernetes-models validation could not run (exit ${r.status}):\n${r.stderr}`);
  const results = JSON.parse(r.stdout) as ValidationResult[];
  if (results.length !== objects.length) throw new Error(`validated ${results.length} of ${objects.length} objects`);
  return results;
}

/** "Kind/name: error" for every invalid object; empty when all are valid. */
export function invalidObjects(objects: K8sObject[]): string[] {
  return validateWithKubernetesModels(objects)
    .filter((r) => r.error !== null)
    .map((r) => `${r.kind}/${r.name}: ${r.error}`);
}
