import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { helmTemplate, K8sObject, named, render } from './support/helm';
import { CHART_DIR, CHART_RULES_DIR, PRODUCTION_VALUES, RULES_DIR } from './support/paths';
import { invalidObjects } from './support/validate';

/* The PrometheusRule is generated from deploy/prometheus/rules/*.yml (through the chart's copy). */

const ruleFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort();

/** The groups of deploy/prometheus/rules/*.yml, file by file in name order (Helm's Files.Glob order). */
function sourceGroups(): unknown[] {
  return ruleFiles(RULES_DIR).flatMap(
    (f) => (parse(readFileSync(join(RULES_DIR, f), 'utf8')) as { groups: unknown[] }).groups,
  );
}

const groupsOf = (o: K8sObject): unknown[] => (o as unknown as { spec: { groups: unknown[] } }).spec.groups;

describe('PrometheusRule', () => {
  it('the chart carries an up-to-date copy of deploy/prometheus/rules (run scripts/check-deploy.sh when this fails)', () => {
    expect(ruleFiles(RULES_DIR).length).toBeGreaterThan(0);
    expect(ruleFiles(CHART_RULES_DIR)).toEqual(ruleFiles(RULES_DIR));
    for (const f of ruleFiles(RULES_DIR)) {
      expect({
        file: f,
        same: readFileSync(join(CHART_RULES_DIR, f), 'utf8') === readFileSync(join(RULES_DIR, f), 'utf8'),
      }).toEqual({ file: f, same: true });
    }
  });

  it.each([
    ['default values with prometheusRule.enabled=true', { set: ['prometheusRule.enabled=true'] }],
    ['values-production.yaml', { valuesFiles: [PRODUCTION_VALUES] }],
  ])('has groups deep-equal to the rule files (%s)', (_label, options) => {
    const objects = render(options);
    const rule = named(objects, 'PrometheusRule', 'hishamos');
    expect(groupsOf(rule)).toEqual(sourceGroups());
    expect(invalidObjects([rule])).toEqual([]);
  });

  it('keeps the rule annotations as Prometheus templates, not evaluated by Helm', () => {
    const rule = named(render({ set: ['prometheusRule.enabled=true'] }), 'PrometheusRule', 'hishamos');
    const text = JSON.stringify(groupsOf(rule));
    expect(text).toContain('{{ $labels.');
    expect(text).toContain('{{ $value');
  });

  it('refuses to render an empty PrometheusRule when the chart has no rule files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hishamos-chart-'));
    try {
      const chart = join(dir, 'hishamos');
      cpSync(CHART_DIR, chart, { recursive: true });
      rmSync(join(chart, 'files', 'prometheus-rules'), { recursive: true, force: true });
      const r = helmTemplate({ chartDir: chart, set: ['prometheusRule.enabled=true'] });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('run scripts/check-deploy.sh');
      // Off, the chart renders without the files.
      expect(helmTemplate({ chartDir: chart }).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
