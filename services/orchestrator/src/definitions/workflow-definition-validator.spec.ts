import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { loadCatalog } from '@hishamos/catalog';
import { REPO_ROOT } from '@hishamos/platform';
import { AgentCatalog } from '../catalog/agent-catalog';
import { WorkflowDefinitionValidator } from './workflow-definition-validator';

const seeds = join(REPO_ROOT, 'seeds');
const catalog = new AgentCatalog(loadCatalog(seeds));
const validator = new WorkflowDefinitionValidator(catalog, seeds);
const schema = JSON.parse(readFileSync(join(seeds, 'workflow.schema.json'), 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
const published = ajv.compile(schema);

const base = () => ({
  id: 'demo',
  name: 'Demo',
  version: 1,
  description: 'A demo',
  inputs: { type: 'object', required: ['feature'], properties: { feature: { type: 'string', minLength: 1 } } },
  steps: [
    { id: 'draft', agent: 'business-analyst', command: 'write_user_stories', inputs: { feature: '${inputs.feature}' } },
    { id: 'gate', type: 'approval', depends_on: ['draft'], approvers: ['admin'], prompt: 'Go?' },
  ] as Record<string, unknown>[],
});

describe('the published workflow JSON Schema (seeds/workflow.schema.json)', () => {
  it('accepts every workflow template in seeds/workflows', () => {
    for (const wf of catalog.catalog.workflows) {
      expect({ id: wf.id, valid: published(wf), errors: published.errors }).toEqual({
        id: wf.id,
        valid: true,
        errors: null,
      });
      expect(validator.check(wf as unknown as Record<string, unknown>)).toEqual([]);
    }
  });

  it.each<[string, (d: ReturnType<typeof base>) => void, string]>([
    ['a missing name', (d) => delete (d as Partial<ReturnType<typeof base>>).name, 'name'],
    ['a bad id', (d) => (d.id = 'Not Kebab'), 'id'],
    ['an unknown top-level field', (d) => Object.assign(d, { owner: 'me' }), 'owner'],
    ['max_attempts 0', (d) => (d.steps[0].retry = { max_attempts: 0 }), 'steps.draft.retry.max_attempts'],
    [
      'an unknown retry field',
      (d) => (d.steps[0].retry = { max_attempts: 2, jitter: true }),
      'steps.draft.retry.jitter',
    ],
    ['a step without command', (d) => delete d.steps[0].command, 'steps.draft.command'],
    ['an approval without approvers', (d) => delete d.steps[1].approvers, 'steps.gate.approvers'],
    ['a bad on_timeout', (d) => (d.steps[1].on_timeout = 'ignore'), 'steps.gate.on_timeout'],
    [
      'a zero attempt timeout',
      (d) => (d.steps[0].timeout = { attempt_seconds: 0 }),
      'steps.draft.timeout.attempt_seconds',
    ],
  ])('rejects %s, as the orchestrator does, naming the step and field', (_what, mutate, field) => {
    const d = base();
    mutate(d);
    expect(published(d)).toBe(false);
    expect(validator.check(d).map((p) => p.field)).toContain(field);
  });

  it('names the step and field of problems beyond the schema: cycles, agents, commands, inputs, references', () => {
    const cyclic = base();
    cyclic.steps[0].depends_on = ['gate'];
    expect(validator.check(cyclic)).toContainEqual({
      field: 'steps.draft.depends_on',
      message: 'depends_on forms a cycle: draft -> gate -> draft',
    });
    const ghost = base();
    ghost.steps[0].agent = 'astrologer';
    expect(validator.check(ghost)).toContainEqual({
      field: 'steps.draft.agent',
      message: 'unknown agent "astrologer"',
    });
    const badRef = base();
    badRef.steps[0].inputs = { feature: '${steps.gate.output}' };
    expect(validator.check(badRef).map((p) => p.field)).toContain('steps.draft.inputs.feature');
    const missing = base();
    missing.steps[0].inputs = {};
    expect(validator.check(missing)).toContainEqual({
      field: 'steps.draft.inputs',
      message: 'required input "feature" of business-analyst/write_user_stories is not provided',
    });
  });

  it('reads YAML and reports syntax errors with their line', () => {
    expect(validator.parseText('id: demo\nname: [x')).toMatchObject({ ok: false });
    const bad = validator.parseText('id: demo\nname: [x') as { problems: { field: string }[] };
    expect(bad.problems[0].field).toMatch(/^line \d+, column \d+$/);
    expect(validator.parseText('- a list')).toEqual({
      ok: false,
      problems: [{ field: '(root)', message: 'must be a mapping (object)' }],
    });
    expect(validator.parseText('id: demo')).toEqual({ ok: true, value: { id: 'demo' } });
  });
});
