import type { JsonSchema, OutputSchema } from './catalog.types';
import { ajvErrorField, ajvErrorReason, compileSchema } from './schema-compiler';
import { TemplateError } from './template-error';
import { parseTemplate } from './template-parser';

function renderValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value, null, 2);
  return String(value);
}

/**
 * Renders a command template strictly. Throws TemplateError when the template is malformed, an
 * input is not a property of the input schema, a required input is missing, an input fails the
 * schema, or a placeholder has no schema property. Absent optional inputs render as ''; objects
 * and arrays render as pretty-printed JSON. Inserted values are not re-scanned for placeholders.
 */
export function renderTemplate(template: string, inputs: Record<string, unknown>, inputSchema: JsonSchema): string {
  const parsed = parseTemplate(template);
  if (parsed.errors.length > 0) throw new TemplateError('template', parsed.errors.join('; '));

  const properties = inputSchema.properties ?? {};
  const declared = new Set(Object.keys(properties));
  for (const name of Object.keys(inputs)) {
    if (!declared.has(name)) throw new TemplateError(name, 'unknown input: it is not a property of the input schema');
  }
  for (const name of inputSchema.required ?? []) {
    if (inputs[name] === undefined) throw new TemplateError(name, 'required input is missing');
  }
  for (const name of parsed.placeholders) {
    if (!declared.has(name)) {
      throw new TemplateError(name, 'the template uses this placeholder but the input schema has no such property');
    }
  }

  const defined: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(inputs)) if (value !== undefined) defined[name] = value;
  let validate;
  try {
    validate = compileSchema(inputSchema);
  } catch (error: unknown) {
    throw new TemplateError('input_schema', `does not compile: ${error instanceof Error ? error.message : error}`);
  }
  if (!validate(defined)) {
    const [first, ...rest] = validate.errors ?? [];
    const field = first ? ajvErrorField(first) : '(root)';
    const reasons = [first, ...rest]
      .filter((e) => e !== undefined)
      .map((e) => {
        const f = ajvErrorField(e);
        return f === field ? ajvErrorReason(e) : `${f} ${ajvErrorReason(e)}`;
      });
    throw new TemplateError(field, reasons.join('; '));
  }

  return parsed.parts.map((part) => (part.kind === 'text' ? part.text : renderValue(defined[part.name]))).join('');
}

/** The instruction appended to every rendered prompt: answer with exactly the schema's sections. */
export function outputInstructions(outputSchema: OutputSchema): string {
  const lines = Object.values(outputSchema.properties).map((s) => `## ${s.title.trim()} — ${s.description.trim()}`);
  return [
    'Respond in Markdown with exactly these sections, in this order, each as a level-2 heading:',
    ...lines,
    'Use no other level-2 headings; use level-3 headings, lists, tables or fenced code blocks inside a section.',
  ].join('\n');
}
