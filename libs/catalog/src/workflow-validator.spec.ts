import { makeCommand, makeValidCatalog, makeWorkflow } from './catalog.fixtures';
import type { AgentStepSeed, WorkflowSeed, WorkflowStepSeed } from './catalog.types';
import { findCycles, validateWorkflow, type WorkflowContext } from './workflow-validator';

const catalog = makeValidCatalog();
catalog.commands.qa.push(
  makeCommand('triage_list', {
    template: 'Triage these items: {items}',
    input_schema: {
      type: 'object',
      required: ['items'],
      properties: { items: { type: 'array', items: { type: 'string' } } },
    },
  }),
);
const context: WorkflowContext = { agents: new Set(catalog.agents.map((a) => a.slug)), commands: catalog.commands };
const FILE = 'workflows/build-feature.yaml';

function problem(field: string, message: string) {
  return expect.objectContaining({ file: FILE, field, message: expect.stringContaining(message) });
}

function withSteps(steps: WorkflowStepSeed[], overrides: Partial<WorkflowSeed> = {}): WorkflowSeed {
  return makeWorkflow({ steps, outputs: {}, ...overrides });
}

const step = (id: string, extra: Partial<AgentStepSeed> = {}): AgentStepSeed => ({
  id,
  agent: 'coding',
  command: 'write_code',
  inputs: { subject: 'x' },
  ...extra,
});

describe('validateWorkflow', () => {
  it('accepts a valid workflow with an approval step and section references', () => {
    expect(validateWorkflow(makeWorkflow(), FILE, context)).toEqual([]);
  });

  it('accepts fan-out / fan-in with references to transitive ancestors', () => {
    const wf = withSteps([
      step('a'),
      step('b', { depends_on: ['a'], inputs: { subject: '${steps.a.output}' } }),
      step('c', { depends_on: ['a'], inputs: { subject: '${steps.a.sections.summary}' } }),
      step('d', {
        depends_on: ['b', 'c'],
        inputs: { subject: '${steps.a.output} ${steps.b.output} ${steps.c.output}' },
      }),
    ]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([]);
  });

  it('reports duplicate step ids', () => {
    expect(validateWorkflow(withSteps([step('a'), step('a')]), FILE, context)).toEqual([
      problem('steps[1].id', 'duplicate step id "a"'),
    ]);
  });

  it('reports depends_on naming an unknown step or the step itself', () => {
    const wf = withSteps([step('a', { depends_on: ['ghost'] }), step('b', { depends_on: ['b'] })]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.a.depends_on', 'refers to unknown step "ghost"'),
      problem('steps.b.depends_on', 'a step cannot depend on itself'),
    ]);
  });

  it('reports a cycle with its path', () => {
    const wf = withSteps([
      step('a', { depends_on: ['c'] }),
      step('b', { depends_on: ['a'] }),
      step('c', { depends_on: ['b'] }),
      step('d', { depends_on: ['a'] }),
    ]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.a.depends_on', 'depends_on forms a cycle: a -> c -> b -> a'),
    ]);
  });

  it('reports an unknown agent and an unknown command', () => {
    const wf = withSteps([step('a', { agent: 'ceo' }), step('b', { command: 'write_poem' })]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.a.agent', 'unknown agent "ceo"'),
      problem('steps.b.command', 'agent "coding" has no command "write_poem"'),
    ]);
  });

  it("reports a missing required input and an input the command doesn't have", () => {
    const wf = withSteps([step('a', { inputs: { notes: 'n', colour: 'red' } })]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.a.inputs', 'required input "subject" of coding/write_code is not provided'),
      problem('steps.a.inputs.colour', 'coding/write_code has no input "colour" (inputs: subject, notes)'),
    ]);
  });

  it('reports a required command input fed only by an optional workflow input', () => {
    const wf = withSteps([step('a', { inputs: { subject: '${inputs.extra}', notes: '${inputs.extra}' } })], {
      inputs: { type: 'object', properties: { extra: { type: 'string', minLength: 1 } } },
    });
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.a.inputs.subject', 'is fed only by optional workflow input "extra"'),
    ]);
  });

  it('reports a workflow input that is looser than the command input it feeds', () => {
    const strict = makeCommand('strict_input', {
      template: 'Handle {subject} at {level}. {notes}',
      input_schema: {
        type: 'object',
        required: ['subject', 'level'],
        properties: {
          subject: { type: 'string', minLength: 20, maxLength: 100 },
          level: { type: 'string', enum: ['low', 'high'] },
          notes: { type: 'string', pattern: '^[a-z]+$' },
        },
      },
    });
    const strictContext: WorkflowContext = {
      agents: context.agents,
      commands: { ...catalog.commands, qa: [...catalog.commands.qa, strict] },
    };
    const wf = withSteps(
      [
        {
          id: 'a',
          agent: 'qa',
          command: 'strict_input',
          inputs: { subject: '${inputs.subject}', level: '${inputs.level}', notes: '${inputs.notes}' },
        },
        {
          id: 'b',
          agent: 'qa',
          command: 'strict_input',
          inputs: { subject: '${inputs.good_subject}', level: '${inputs.good_level}', notes: 'abc' },
        },
      ],
      {
        inputs: {
          type: 'object',
          required: ['subject', 'level', 'good_subject', 'good_level'],
          properties: {
            subject: { type: 'string', minLength: 1 },
            level: { type: 'string', enum: ['low', 'medium'] },
            notes: { type: 'string' },
            good_subject: { type: 'string', minLength: 30, maxLength: 50 },
            good_level: { type: 'string', enum: ['high'] },
          },
        },
      },
    );
    expect(validateWorkflow(wf, FILE, strictContext)).toEqual([
      problem(
        'steps.a.inputs.subject',
        'minLength 20 (the workflow input has 1); maxLength 100 (the workflow input has none)',
      ),
      problem('steps.a.inputs.level', 'enum ["low","high"] (the workflow allows ["medium"])'),
      problem('steps.a.inputs.notes', 'pattern "^[a-z]+$"'),
    ]);
  });

  it('reports a reference to a step that is not an ancestor', () => {
    const wf = withSteps([step('a'), step('b', { inputs: { subject: '${steps.a.output}' } })]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.b.inputs.subject', 'refers to step "a", which is not an ancestor of this step'),
    ]);
  });

  it('reports undeclared workflow inputs, unknown sections, unknown steps and bad syntax', () => {
    const wf = withSteps([
      step('a', { inputs: { subject: '${inputs.featur}' } }),
      step('b', {
        depends_on: ['a'],
        inputs: { subject: '${steps.a.sections.verdict}', notes: '${steps.zz.output} ${steps.a} ${inputs.feature' },
      }),
    ]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem(
        'steps.a.inputs.subject',
        'refers to workflow input "featur", which the workflow\'s inputs do not declare',
      ),
      problem('steps.b.inputs.subject', '"verdict" is not a section of coding/write_code (sections: summary, details)'),
      problem('steps.b.inputs.notes', 'has a "${" without a closing "}"'),
      problem('steps.b.inputs.notes', 'refers to unknown step "zz"'),
      problem('steps.b.inputs.notes', '"steps.a" is not a valid reference'),
    ]);
  });

  it('reports references to an approval step, which has no output', () => {
    const wf = makeWorkflow();
    wf.steps.push(step('after', { depends_on: ['sign_off'], inputs: { subject: '${steps.sign_off.output}' } }));
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.after.inputs.subject', 'refers to approval step "sign_off", which has no output'),
    ]);
  });

  it('reports a when condition with invalid syntax', () => {
    const wf = withSteps([step('a'), step('b', { depends_on: ['a'], when: "steps.a.output includes 'x'" })]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.b.when', 'invalid condition: expected contains, == or != at offset 15'),
    ]);
  });

  it('checks the references of a when condition, ignoring quoted text', () => {
    const wf = withSteps([
      step('a'),
      step('b', { depends_on: ['a'], when: "steps.a.sections.summary contains 'steps.nothing'" }),
      step('c', { depends_on: ['a'], when: "steps.a.sections.verdict == 'go' and inputs.mode == 'x'" }),
      step('d', { when: 'steps.a.output contains "x"' }),
    ]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('steps.c.when', '"verdict" is not a section of coding/write_code'),
      problem('steps.c.when', 'refers to workflow input "mode"'),
      problem('steps.d.when', 'not an ancestor'),
    ]);
  });

  it('checks literal input values against the command input schema and reference types', () => {
    const wf = withSteps([
      step('a', { inputs: { subject: '' } }),
      { id: 'b', agent: 'qa', command: 'triage_list', inputs: { items: '${inputs.feature}' } },
      { id: 'c', agent: 'qa', command: 'triage_list', inputs: { items: ['one', 'two'] } },
      { id: 'd', agent: 'qa', command: 'triage_list', inputs: { items: [1] } },
    ]);
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem(
        'steps.a.inputs.subject',
        "literal value does not match coding/write_code's input schema: must NOT have fewer than 1",
      ),
      problem('steps.b.inputs.items', 'supplies string but qa/triage_list expects array'),
      problem('steps.d.inputs.items', '[0] must be string'),
    ]);
  });

  it('reports malformed steps: unknown fields, bad retry, approval without approvers', () => {
    const wf = withSteps([
      { ...step('a'), retry: { max_attempts: 0 }, colour: 'red' } as AgentStepSeed,
      { id: 'ok', type: 'approval', prompt: 'Go?', on_timeout: 'explode' } as unknown as WorkflowStepSeed,
      { id: 'Bad-Id', agent: 'coding', command: 'write_code', inputs: { subject: 'x' } },
    ]);
    const problems = validateWorkflow(wf, FILE, context);
    expect(problems).toEqual(
      expect.arrayContaining([
        problem('steps.a.colour', 'is not an allowed field'),
        problem('steps.a.retry.max_attempts', 'must be >= 1'),
        problem('steps.ok.approvers', 'is required but missing'),
        problem('steps.ok.on_timeout', 'must be one of ["fail","escalate"]'),
        problem('steps.Bad-Id.id', 'must match pattern'),
      ]),
    );
  });

  it('reports workflow outputs that name unknown steps or sections', () => {
    const wf = makeWorkflow({ outputs: { a: '${steps.nope.output}', b: '${steps.code.sections.nope}' } });
    expect(validateWorkflow(wf, FILE, context)).toEqual([
      problem('outputs.a', 'refers to unknown step "nope"'),
      problem('outputs.b', '"nope" is not a section of coding/write_code'),
    ]);
  });

  it('reports a workflow inputs schema that does not compile', () => {
    const wf = makeWorkflow({ inputs: { type: 'object', properties: { feature: { type: 'text' } } } });
    expect(validateWorkflow(wf, FILE, context)).toContainEqual(problem('inputs', 'does not compile as JSON Schema'));
  });
});

describe('findCycles', () => {
  it('finds each cycle once', () => {
    const edges = new Map([
      ['a', ['b']],
      ['b', ['a']],
      ['c', ['c2']],
      ['c2', ['c']],
      ['d', []],
    ]);
    expect(findCycles(edges)).toEqual([
      ['a', 'b', 'a'],
      ['c', 'c2', 'c'],
    ]);
  });
});
