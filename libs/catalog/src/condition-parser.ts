/**
 * The `when` condition language of workflow steps:
 *
 *   condition  := or
 *   or         := and ("or" and)*
 *   and        := unary ("and" unary)*
 *   unary      := "not" unary | "(" or ")" | comparison
 *   comparison := reference ("contains" | "==" | "!=") literal
 *   reference  := inputs.<name> | steps.<id>.output | steps.<id>.sections.<key>   (optionally inside ${...})
 *   literal    := '...' | "..."
 *
 * Comparisons are case-insensitive: `contains` is a substring test, `==`/`!=` compare trimmed text.
 * A reference to a missing value (absent input, skipped step) reads as the empty string.
 */
import { parseReference, type WorkflowReference } from './workflow-reference';

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; op: 'contains' | '==' | '!='; ref: WorkflowReference; literal: string };

export class ConditionSyntaxError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'ConditionSyntaxError';
    this.offset = offset;
  }
}

type Token =
  | { type: 'word'; value: string; offset: number }
  | { type: 'ref'; value: string; offset: number }
  | { type: 'string'; value: string; offset: number }
  | { type: 'op'; value: '==' | '!=' | '(' | ')'; offset: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end === -1) throw new ConditionSyntaxError('unterminated string literal', i);
      tokens.push({ type: 'string', value: text.slice(i + 1, end), offset: i });
      i = end + 1;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i);
      if (end === -1) throw new ConditionSyntaxError('"${" without a closing "}"', i);
      tokens.push({ type: 'ref', value: text.slice(i + 2, end).trim(), offset: i });
      i = end + 1;
    } else if (text.startsWith('==', i) || text.startsWith('!=', i)) {
      tokens.push({ type: 'op', value: text.slice(i, i + 2) as '==' | '!=', offset: i });
      i += 2;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ type: 'op', value: ch, offset: i });
      i += 1;
    } else {
      const m = /^[A-Za-z0-9_.-]+/.exec(text.slice(i));
      if (!m) throw new ConditionSyntaxError(`unexpected character "${ch}"`, i);
      const word = m[0];
      const keyword = word.toLowerCase();
      if (['and', 'or', 'not', 'contains'].includes(keyword)) tokens.push({ type: 'word', value: keyword, offset: i });
      else tokens.push({ type: 'ref', value: word, offset: i });
      i += word.length;
    }
  }
  return tokens;
}

/** Parses a `when` condition; throws ConditionSyntaxError with the offset of the problem. */
export function parseCondition(text: string): Condition {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const end = text.length;
  const isWord = (value: string): boolean => {
    const t = peek();
    return t !== undefined && t.type === 'word' && t.value === value;
  };

  const parseOr = (): Condition => {
    let left = parseAnd();
    while (isWord('or')) {
      pos += 1;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Condition => {
    let left = parseUnary();
    while (isWord('and')) {
      pos += 1;
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): Condition => {
    const t = peek();
    if (!t) throw new ConditionSyntaxError('expected a comparison', end);
    if (t.type === 'word' && t.value === 'not') {
      pos += 1;
      return { kind: 'not', operand: parseUnary() };
    }
    if (t.type === 'op' && t.value === '(') {
      pos += 1;
      const inner = parseOr();
      const close = peek();
      if (!close || close.type !== 'op' || close.value !== ')') {
        throw new ConditionSyntaxError('expected ")"', close?.offset ?? end);
      }
      pos += 1;
      return inner;
    }
    if (t.type !== 'ref') throw new ConditionSyntaxError(`expected a reference, found "${t.value}"`, t.offset);
    pos += 1;
    const ref = parseReference(t.value);
    if (ref.kind === 'invalid') {
      throw new ConditionSyntaxError(
        `"${t.value}" is not a valid reference (use inputs.<name>, steps.<id>.output or steps.<id>.sections.<key>)`,
        t.offset,
      );
    }
    const opToken = peek();
    let op: 'contains' | '==' | '!=';
    if (opToken?.type === 'word' && opToken.value === 'contains') op = 'contains';
    else if (opToken?.type === 'op' && (opToken.value === '==' || opToken.value === '!=')) op = opToken.value;
    else throw new ConditionSyntaxError('expected contains, == or !=', opToken?.offset ?? end);
    pos += 1;
    const literal = peek();
    if (!literal || literal.type !== 'string') {
      throw new ConditionSyntaxError('expected a quoted string', literal?.offset ?? end);
    }
    pos += 1;
    return { kind: 'compare', op, ref, literal: literal.value };
  };

  const condition = parseOr();
  const rest = peek();
  if (rest) throw new ConditionSyntaxError(`unexpected "${rest.value}"`, rest.offset);
  return condition;
}

/** Every reference a condition reads. */
export function conditionReferences(condition: Condition): WorkflowReference[] {
  switch (condition.kind) {
    case 'compare':
      return [condition.ref];
    case 'not':
      return conditionReferences(condition.operand);
    default:
      return [...conditionReferences(condition.left), ...conditionReferences(condition.right)];
  }
}

/** Evaluates a condition; `resolve` returns a reference's text (undefined reads as ''). */
export function evaluateCondition(
  condition: Condition | string,
  resolve: (ref: WorkflowReference) => unknown,
): boolean {
  const c = typeof condition === 'string' ? parseCondition(condition) : condition;
  switch (c.kind) {
    case 'and':
      return evaluateCondition(c.left, resolve) && evaluateCondition(c.right, resolve);
    case 'or':
      return evaluateCondition(c.left, resolve) || evaluateCondition(c.right, resolve);
    case 'not':
      return !evaluateCondition(c.operand, resolve);
    case 'compare': {
      const raw = resolve(c.ref);
      const value = (raw === undefined || raw === null ? '' : typeof raw === 'string' ? raw : JSON.stringify(raw))
        .trim()
        .toLowerCase();
      const literal = c.literal.trim().toLowerCase();
      if (c.op === 'contains') return value.includes(c.literal.toLowerCase());
      return c.op === '==' ? value === literal : value !== literal;
    }
  }
}
