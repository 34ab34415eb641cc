import { parseReference, resolveInputs, valueReferences, type WorkflowReference } from './workflow-reference';

describe('parseReference', () => {
  it('parses the three reference forms and rejects others', () => {
    expect(parseReference(' inputs.feature ')).toEqual({ kind: 'input', name: 'feature', text: 'inputs.feature' });
    expect(parseReference('steps.a.output')).toMatchObject({ kind: 'output', step: 'a' });
    expect(parseReference('steps.a.sections.k')).toMatchObject({ kind: 'section', step: 'a', key: 'k' });
    expect(parseReference('steps.a.sections')).toMatchObject({ kind: 'invalid' });
    expect(parseReference('env.HOME')).toMatchObject({ kind: 'invalid' });
  });
});

describe('valueReferences', () => {
  it('finds every reference and notices an unterminated one', () => {
    expect(valueReferences('A ${inputs.x} B ${steps.y.output}').refs.map((r) => r.text)).toEqual([
      'inputs.x',
      'steps.y.output',
    ]);
    expect(valueReferences('no refs, $ { and {x}')).toEqual({ refs: [], unterminated: false });
    expect(valueReferences('oops ${inputs.x').unterminated).toBe(true);
  });
});

describe('resolveInputs', () => {
  const values: Record<string, unknown> = {
    'inputs.years': 5,
    'inputs.name': 'Ada',
    'steps.a.output': '## Summary\nok',
    'steps.a.sections.summary': 'ok',
  };
  const resolve = (ref: WorkflowReference): unknown => values[ref.text];

  it('keeps the type of a whole reference and interpolates text around references', () => {
    expect(
      resolveInputs(
        {
          years: '${inputs.years}',
          text: 'Hi ${inputs.name}, ${steps.a.sections.summary}; years=${inputs.years}; gone=[${inputs.gone}]',
          list: ['${steps.a.output}', 'literal', 3],
          nested: { who: ' ${inputs.name} ' },
        },
        resolve,
      ),
    ).toEqual({
      years: 5,
      text: 'Hi Ada, ok; years=5; gone=[]',
      list: ['## Summary\nok', 'literal', 3],
      nested: { who: 'Ada' },
    });
  });

  it('leaves out an input whose whole reference is absent', () => {
    expect(resolveInputs({ a: '${inputs.gone}', b: 'x' }, resolve)).toEqual({ b: 'x' });
  });
});
