import type { InputSchema, OutputSchema } from './catalog.types';
import { TemplateError } from './template-error';
import { outputInstructions, renderTemplate } from './template-renderer';

const schema: InputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['feature', 'language'],
  properties: {
    feature: { type: 'string', minLength: 1 },
    language: { type: 'string', enum: ['TypeScript', 'Go'] },
    constraints: { type: 'string' },
    files: { type: 'array', items: { type: 'string' } },
    budget: { type: 'integer', minimum: 0 },
  },
};
const template =
  'Implement {feature} in {language}.\nConstraints (may be empty): {constraints}\nFiles: {files}\nBudget: {budget}\n{{literal}}';

function renderError(inputs: Record<string, unknown>, s = schema, t = template): TemplateError {
  try {
    renderTemplate(t, inputs, s);
  } catch (error) {
    if (error instanceof TemplateError) return error;
    throw error;
  }
  throw new Error('renderTemplate did not throw');
}

describe('renderTemplate', () => {
  it('substitutes values, renders absent optionals as empty and arrays/objects as pretty JSON', () => {
    const out = renderTemplate(
      template,
      { feature: 'login', language: 'Go', files: ['a.go', 'b.go'], budget: 3 },
      schema,
    );
    expect(out).toBe(
      'Implement login in Go.\nConstraints (may be empty): \nFiles: [\n  "a.go",\n  "b.go"\n]\nBudget: 3\n{literal}',
    );
  });

  it('does not re-scan inserted values for placeholders', () => {
    const out = renderTemplate(template, { feature: '{language} {{x}}', language: 'Go' }, schema);
    expect(out.startsWith('Implement {language} {{x}} in Go.')).toBe(true);
  });

  it('names an unknown input', () => {
    const error = renderError({ feature: 'x', language: 'Go', colour: 'red' });
    expect(error.field).toBe('colour');
    expect(error.reason).toContain('unknown input');
  });

  it('names a missing required input', () => {
    const error = renderError({ feature: 'x' });
    expect(error).toMatchObject({ field: 'language', reason: 'required input is missing' });
    expect(error.message).toBe('language: required input is missing');
  });

  it('names the field and reason when a value fails the schema', () => {
    expect(renderError({ feature: 'x', language: 'Rust' })).toMatchObject({
      field: 'language',
      reason: expect.stringContaining('must be one of ["TypeScript","Go"]'),
    });
    expect(renderError({ feature: '', language: 'Go' })).toMatchObject({
      field: 'feature',
      reason: expect.stringContaining('must NOT have fewer than 1 characters'),
    });
    expect(renderError({ feature: 'x', language: 'Go', files: ['a', 2] })).toMatchObject({
      field: 'files[1]',
      reason: expect.stringContaining('must be string'),
    });
    expect(renderError({ feature: 'x', language: 'Go', budget: 1.5 })).toMatchObject({
      field: 'budget',
      reason: expect.stringContaining('must be integer'),
    });
  });

  it('rejects a malformed template', () => {
    expect(renderError({ feature: 'x', language: 'Go' }, schema, 'Bad { brace')).toMatchObject({ field: 'template' });
  });

  it('rejects a placeholder that the schema does not declare', () => {
    const error = renderError({ feature: 'x', language: 'Go' }, schema, '{feature} {mystery}');
    expect(error).toMatchObject({ field: 'mystery', reason: expect.stringContaining('no such property') });
  });
});

describe('outputInstructions', () => {
  it('lists every section as a level-2 heading with its description, in schema order', () => {
    const output: OutputSchema = {
      type: 'object',
      required: ['summary', 'code'],
      properties: {
        summary: { type: 'string', title: 'Summary', description: 'What was built and why' },
        code: { type: 'string', title: 'Code', description: 'Complete, runnable code in fenced blocks' },
      },
    };
    expect(outputInstructions(output)).toBe(
      [
        'Respond in Markdown with exactly these sections, in this order, each as a level-2 heading:',
        '## Summary — What was built and why',
        '## Code — Complete, runnable code in fenced blocks',
        'Use no other level-2 headings; use level-3 headings, lists, tables or fenced code blocks inside a section.',
      ].join('\n'),
    );
  });
});
