import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildDeploycheck, deploycheck } from './support/deploycheck';
import { helmTemplate } from './support/helm';
import { DEV_VALUES, PRODUCTION_VALUES, REPO_ROOT } from './support/paths';

/*
 * The same files through the parsers of the real tools (deploy/test/deploycheck, in Go):
 * BuildKit's Dockerfile linter (`docker build --check`), compose-go (`docker compose config`)
 * and strict decoding into the Kubernetes API types (unknown fields are errors, which the
 * OpenAPI schemas of kubernetes-models allow).
 */

describe('validation with the real tools’ parsers', () => {
  let scratch: string;
  beforeAll(() => {
    buildDeploycheck();
    scratch = mkdtempSync(join(tmpdir(), 'hishamos-deploycheck-'));
  }, 600_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('Dockerfile passes the BuildKit lint rules', () => {
    const r = deploycheck(['dockerfile', 'Dockerfile']);
    expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({
      code: 0,
      out: expect.stringContaining('ok: Dockerfile'),
      err: '',
    });
  });

  it('the BuildKit check does reject a Dockerfile that breaks its rules', () => {
    const bad = join(scratch, 'Dockerfile.bad');
    writeFileSync(bad, 'FROM node:24-bookworm-slim as build\nENV MODE production\nCMD node main.js\n');
    const r = deploycheck(['dockerfile', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FromAsCasing');
    expect(r.stdout).toContain('LegacyKeyValueFormat');
    expect(r.stdout).toContain('JSONArgsRecommended');
  });

  it('docker-compose.dev.yml loads with compose-go', () => {
    const r = deploycheck(['compose', 'docker-compose.dev.yml']);
    expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({
      code: 0,
      out: expect.stringContaining('loads with compose-go (13 services)'),
      err: '',
    });
  });

  it('compose-go does reject a broken compose file', () => {
    const bad = join(scratch, 'compose.yml');
    writeFileSync(bad, 'services:\n  a:\n    image: busybox:1.36\n    depends_on: [missing]\n');
    const r = deploycheck(['compose', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('missing');
  });

  it.each([
    ['default values', [] as string[]],
    ['values-production.yaml', [PRODUCTION_VALUES]],
    ['deploy/k8s/values-dev.yaml', [DEV_VALUES]],
  ])('the chart (%s) decodes strictly into the Kubernetes API types', (_label, valuesFiles) => {
    const rendered = helmTemplate({ valuesFiles, set: ['serviceMonitor.enabled=true', 'prometheusRule.enabled=true'] });
    expect(rendered.code).toBe(0);
    const r = deploycheck(['k8s-strict'], rendered.stdout);
    expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({
      code: 0,
      out: expect.stringMatching(/^ok: \d+ objects decode strictly/),
      err: '',
    });
  });

  it('the deploy/k8s manifests decode strictly into the Kubernetes API types', () => {
    const k = parse(readFileSync(join(REPO_ROOT, 'deploy/k8s/kustomization.yaml'), 'utf8')) as { resources: string[] };
    const text = k.resources.map((f) => readFileSync(join(REPO_ROOT, 'deploy/k8s', f), 'utf8')).join('\n---\n');
    const r = deploycheck(['k8s-strict'], text);
    expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({
      code: 0,
      out: expect.stringMatching(/^ok: \d+ objects decode strictly/),
      err: '',
    });
  });

  it('strict decoding does reject a misspelled field', () => {
    const r = deploycheck(
      ['k8s-strict'],
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: i, readinesProbe: {}}]\n',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('unknown field "spec.template.spec.containers[0].readinesProbe"');
  });
});
