import { makeCommand } from './catalog.fixtures';
import { validateCommandSeed } from './catalog-validator';

describe('validateCommandSeed: one command outside a catalog (template versions written through the API)', () => {
  it('accepts a valid command', () => {
    expect(validateCommandSeed(makeCommand('write_code'))).toEqual([]);
  });

  it('reports a placeholder the input schema does not declare, and a property the template does not use', () => {
    const problems = validateCommandSeed(
      makeCommand('write_code', { template: 'Write {subject} in {language}. Nothing else.' }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        { field: 'template', message: 'placeholder {language} is not a property of input_schema' },
        { field: 'input_schema.properties.notes', message: 'is not used as a {notes} placeholder in the template' },
      ]),
    );
  });

  it('reports malformed braces and schemas that do not compile', () => {
    const problems = validateCommandSeed(
      makeCommand('write_code', {
        template: 'Write {subject} {notes} with a { brace',
        input_schema: {
          type: 'object',
          properties: { subject: { type: 'string', minLenght: 1 }, notes: { type: 'string' } },
        },
      }),
    );
    expect(problems.map((p) => p.field)).toEqual(expect.arrayContaining(['template', 'input_schema']));
  });
});
