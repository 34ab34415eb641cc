import { ExpressionError, EXPRESSION_LIMITS } from './expression-error';

export type TokenKind = 'number' | 'string' | 'ident' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** For numbers the source text; for strings the decoded value; otherwise the text. */
  value: string;
  /** 0-based offset of the token's first character in the source. */
  pos: number;
}

const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
/** Operators, longest first so `<=` wins over `<`. */
const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '+', '-', '*', '/', '%', '!'];
const PUNCTUATION = new Set(['(', ')', '[', ']', ',', '.']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

/**
 * Splits an expression into tokens. Everything that is not a number, a quoted string, a word, one of
 * the operators or `( ) [ ] , .` is an error naming its position; there is no other syntax.
 */
export function tokenize(source: string): Token[] {
  if (typeof source !== 'string') throw new ExpressionError('the expression must be a string', 0);
  if (source.length > EXPRESSION_LIMITS.maxLength)
    throw new ExpressionError(
      `the expression is ${source.length} characters long; the limit is ${EXPRESSION_LIMITS.maxLength}`,
      EXPRESSION_LIMITS.maxLength,
    );
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, value: string, pos: number) => {
    tokens.push({ kind, value, pos });
    if (tokens.length > EXPRESSION_LIMITS.maxTokens)
      throw new ExpressionError(`the expression has more than ${EXPRESSION_LIMITS.maxTokens} tokens`, pos);
  };
  while (i < source.length) {
    const c = source[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (DIGIT.test(c)) {
      while (i < source.length && DIGIT.test(source[i])) i++;
      if (source[i] === '.' && DIGIT.test(source[i + 1] ?? '')) {
        i++;
        while (i < source.length && DIGIT.test(source[i])) i++;
      }
      if (source[i] === 'e' || source[i] === 'E') {
        let j = i + 1;
        if (source[j] === '+' || source[j] === '-') j++;
        if (!DIGIT.test(source[j] ?? '')) throw new ExpressionError('malformed number exponent', i);
        while (j < source.length && DIGIT.test(source[j])) j++;
        i = j;
      }
      if (WORD_START.test(source[i] ?? '')) throw new ExpressionError(`unexpected character '${source[i]}'`, i);
      push('number', source.slice(start, i), start);
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new ExpressionError('unterminated string', start);
        const ch = source[i];
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\\') {
          const next = source[i + 1];
          if (next === undefined) throw new ExpressionError('unterminated string', start);
          const decoded = ESCAPES[next];
          if (decoded === undefined) throw new ExpressionError(`unknown escape '\\${next}' in string`, i);
          value += decoded;
          i += 2;
          continue;
        }
        if (ch === '\n') throw new ExpressionError('unterminated string (line break inside quotes)', start);
        value += ch;
        i++;
      }
      push('string', value, start);
      continue;
    }
    if (WORD_START.test(c)) {
      while (i < source.length && WORD_PART.test(source[i])) i++;
      push('ident', source.slice(start, i), start);
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op) {
      push('op', op, start);
      i += op.length;
      continue;
    }
    if (PUNCTUATION.has(c)) {
      push('punct', c, start);
      i++;
      continue;
    }
    throw new ExpressionError(`unexpected character '${c}'`, i);
  }
  tokens.push({ kind: 'eof', value: '', pos: source.length });
  return tokens;
}
