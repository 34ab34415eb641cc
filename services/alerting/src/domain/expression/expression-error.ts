/** A bad expression: the reason and the 0-based position in the source where it was found. */
export class ExpressionError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
    this.name = 'ExpressionError';
  }
}

/** Bounds on what an expression may be, so no input can exhaust the stack, memory or CPU. */
export const EXPRESSION_LIMITS = {
  /** Characters in the source. */
  maxLength: 2000,
  /** Tokens in the source. */
  maxTokens: 500,
  /** Nesting depth of the syntax tree (parentheses, unary operators, calls, lists). */
  maxDepth: 32,
  /** Length of a string an expression can build (concatenation). */
  maxStringLength: 10_000,
  /** Elements of a list literal. */
  maxListLength: 200,
} as const;

/** Names no expression may mention: they are how sandbox escapes start in JavaScript. */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
