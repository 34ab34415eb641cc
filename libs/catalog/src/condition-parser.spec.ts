import { ConditionSyntaxError, conditionReferences, evaluateCondition, parseCondition } from './condition-parser';
import type { WorkflowReference } from './workflow-reference';

const values: Record<string, string> = {
  'steps.review.sections.verdict': 'Approve with changes: two nits.',
  'steps.health.sections.verdict': '**Degraded** — p99 latency above SLO',
  'inputs.env': ' Production ',
};
const resolve = (ref: WorkflowReference): unknown => values[ref.text];
const evaluate = (text: string): boolean => evaluateCondition(text, resolve);

describe('parseCondition / evaluateCondition', () => {
  it('evaluates contains case-insensitively', () => {
    expect(evaluate("steps.review.sections.verdict contains 'APPROVE'")).toBe(true);
    expect(evaluate("steps.review.sections.verdict contains 'reject'")).toBe(false);
  });

  it('compares trimmed text case-insensitively with == and !=', () => {
    expect(evaluate("inputs.env == 'production'")).toBe(true);
    expect(evaluate('inputs.env != "production"')).toBe(false);
  });

  it('supports and, or, not and parentheses with and binding tighter than or', () => {
    expect(
      evaluate("steps.health.sections.verdict contains 'degraded' or steps.health.sections.verdict contains 'down'"),
    ).toBe(true);
    expect(evaluate("inputs.env == 'x' or inputs.env == 'production' and not inputs.env == 'production'")).toBe(false);
    expect(evaluate("(inputs.env == 'x' or inputs.env == 'production') and not (inputs.env contains 'staging')")).toBe(
      true,
    );
  });

  it('reads a missing value as the empty string and accepts ${...} references', () => {
    expect(evaluate("${steps.skipped.output} == ''")).toBe(true);
    expect(evaluate("steps.skipped.sections.x contains 'a'")).toBe(false);
  });

  it('lists the references a condition reads', () => {
    const refs = conditionReferences(parseCondition("not steps.a.output contains 'x' and (inputs.b == 'y')"));
    expect(refs.map((r) => r.text)).toEqual(['steps.a.output', 'inputs.b']);
  });

  it.each([
    ["steps.a.output contains 'x", 'unterminated string literal at offset 24'],
    ["steps.a.output includes 'x'", 'expected contains, == or != at offset 15'],
    ['steps.a.output contains x', 'expected a quoted string at offset 24'],
    ["steps.a contains 'x'", '"steps.a" is not a valid reference'],
    ["(inputs.a == 'x'", 'expected ")" at offset 16'],
    ["inputs.a == 'x' inputs.b == 'y'", 'unexpected "inputs.b" at offset 16'],
    ['', 'expected a comparison at offset 0'],
    ["inputs.a == 'x' and", 'expected a comparison at offset 19'],
    ["inputs.a == 'x' ; rm", 'unexpected character ";" at offset 16'],
  ])('rejects %j', (text, message) => {
    expect(() => parseCondition(text)).toThrow(ConditionSyntaxError);
    expect(() => parseCondition(text)).toThrow(message);
  });
});
