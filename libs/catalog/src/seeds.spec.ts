import { join } from 'node:path';
import { formatProblem } from './catalog-error';
import type { JsonSchema } from './catalog.types';
import { isApprovalStep } from './catalog.types';
import { validateCatalog } from './catalog-validator';
import { readCatalog } from './seed-loader';
import { renderTemplate } from './template-renderer';
import { resolveInputs } from './workflow-reference';

/** The real seeds of this repository must satisfy every rule of seeds/FORMAT.md. */
describe('the repository seeds', () => {
  const seedsDir = join(__dirname, '..', '..', '..', 'seeds');
  const { catalog, problems } = readCatalog(seedsDir);

  it('load and validate without problems', () => {
    const all = [...problems, ...validateCatalog(catalog)].map(formatProblem);
    expect(all).toEqual([]);
  });

  /** A value that satisfies a simple property schema (enum, integer, number, string with minLength). */
  function sampleValue(name: string, schema: JsonSchema): unknown {
    if (Array.isArray(schema.enum)) return schema.enum[0];
    if (schema.type === 'integer') return typeof schema.minimum === 'number' ? schema.minimum : 1;
    if (schema.type === 'number') return typeof schema.minimum === 'number' ? schema.minimum : 1;
    const text = `sample ${name}`;
    return typeof schema.minLength === 'number' ? text.padEnd(schema.minLength, '.') : text;
  }

  it('render every workflow step with sample run inputs and upstream sections', () => {
    const failures: string[] = [];
    for (const workflow of catalog.workflows) {
      const runInputs: Record<string, unknown> = {};
      for (const [name, schema] of Object.entries(workflow.inputs.properties ?? {})) {
        runInputs[name] = sampleValue(name, schema);
      }
      for (const step of workflow.steps) {
        if (isApprovalStep(step)) continue;
        const command = catalog.commands[step.agent]?.find((c) => c.name === step.command);
        if (!command) {
          failures.push(`${workflow.id}.${step.id}: no command ${step.agent}/${step.command}`);
          continue;
        }
        const inputs = resolveInputs(step.inputs ?? {}, (ref) =>
          ref.kind === 'input' ? runInputs[ref.name] : `sample text of ${ref.text}`,
        );
        try {
          const prompt = renderTemplate(command.template, inputs, command.input_schema);
          if (prompt.includes('${')) failures.push(`${workflow.id}.${step.id}: unresolved reference in prompt`);
        } catch (error) {
          failures.push(`${workflow.id}.${step.id}: ${(error as Error).message}`);
        }
      }
    }
    expect(catalog.workflows.length).toBeGreaterThanOrEqual(6);
    expect(failures).toEqual([]);
  });
});
