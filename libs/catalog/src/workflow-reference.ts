/** References inside workflow step inputs, outputs and conditions: `${inputs.x}`, `${steps.a.output}`, `${steps.a.sections.k}`. */
export type WorkflowReference =
  | { kind: 'input'; name: string; text: string }
  | { kind: 'output'; step: string; text: string }
  | { kind: 'section'; step: string; key: string; text: string }
  | { kind: 'invalid'; text: string };

const NAME = '[A-Za-z0-9_]+';
const INPUT_REF = new RegExp(`^inputs\\.(${NAME})$`);
const OUTPUT_REF = new RegExp(`^steps\\.(${NAME})\\.output$`);
const SECTION_REF = new RegExp(`^steps\\.(${NAME})\\.sections\\.(${NAME})$`);

export function parseReference(expression: string): WorkflowReference {
  const text = expression.trim();
  let m = INPUT_REF.exec(text);
  if (m) return { kind: 'input', name: m[1], text };
  m = OUTPUT_REF.exec(text);
  if (m) return { kind: 'output', step: m[1], text };
  m = SECTION_REF.exec(text);
  if (m) return { kind: 'section', step: m[1], key: m[2], text };
  return { kind: 'invalid', text };
}

/** The `${...}` references in a string value; `unterminated` is true when a `${` is never closed. */
export function valueReferences(value: string): { refs: WorkflowReference[]; unterminated: boolean } {
  const refs: WorkflowReference[] = [];
  const re = /\$\{([^}]*)\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) refs.push(parseReference(m[1]));
  const rest = value.replace(re, '');
  return { refs, unterminated: rest.includes('${') };
}

const WHOLE_REF = /^\s*\$\{([^}]*)\}\s*$/;

function referenceText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/**
 * Substitutes references in a step's inputs (the orchestrator's contract, assumed by the validator):
 * a string that is exactly one reference takes the referenced value as is (so a number input stays a
 * number, and an absent value leaves the input out); references inside longer text are replaced by
 * their text (absent → ''). Arrays and objects are resolved element by element.
 */
export function resolveInputs(
  inputs: Record<string, unknown>,
  resolve: (ref: WorkflowReference) => unknown,
): Record<string, unknown> {
  const resolveValue = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const whole = WHOLE_REF.exec(value);
      if (whole) return resolve(parseReference(whole[1]));
      return value.replace(/\$\{([^}]*)\}/g, (_m, expr: string) => referenceText(resolve(parseReference(expr))));
    }
    if (Array.isArray(value)) return value.map(resolveValue);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v)]));
    }
    return value;
  };
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(inputs)) {
    const resolved = resolveValue(value);
    if (resolved !== undefined) result[name] = resolved;
  }
  return result;
}
