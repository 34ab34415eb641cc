import { ExpressionError, EXPRESSION_LIMITS, FORBIDDEN_NAMES } from './expression-error';
import { tokenize, type Token } from './expression-lexer';

export type Literal = string | number | boolean | null;
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';

/** The whole syntax: nothing outside these node types can be expressed. */
export type Node =
  | { type: 'literal'; value: Literal; pos: number }
  | { type: 'field'; path: string[]; pos: number }
  | { type: 'member'; object: Node; key: Node; pos: number }
  | { type: 'list'; items: Node[]; pos: number }
  | { type: 'not'; arg: Node; pos: number }
  | { type: 'negate'; arg: Node; pos: number }
  | { type: 'logical'; op: 'and' | 'or'; left: Node; right: Node; pos: number }
  | { type: 'compare'; op: CompareOp; left: Node; right: Node; pos: number }
  | { type: 'arithmetic'; op: ArithmeticOp; left: Node; right: Node; pos: number }
  | { type: 'call'; name: string; args: Node[]; pos: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null']);
const COMPARE_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of expression';
  if (t.kind === 'string') return 'a string';
  return `'${t.value}'`;
}

/** Recursive descent over the token list, with the nesting depth bounded. */
class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.expression();
    const t = this.peek();
    if (t.kind !== 'eof') throw new ExpressionError(`unexpected ${describe(t)}`, t.pos);
    return node;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.value === word;
  }

  private isOp(...ops: string[]): boolean {
    const t = this.peek();
    return t.kind === 'op' && ops.includes(t.value);
  }

  private isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.value === p;
  }

  private expect(p: string, what: string): Token {
    const t = this.peek();
    if (t.kind !== 'punct' || t.value !== p) throw new ExpressionError(`expected ${what}, found ${describe(t)}`, t.pos);
    return this.next();
  }

  private nested<T>(pos: number, fn: () => T): T {
    if (++this.depth > EXPRESSION_LIMITS.maxDepth)
      throw new ExpressionError(`the expression nests deeper than ${EXPRESSION_LIMITS.maxDepth} levels`, pos);
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private expression(): Node {
    return this.nested(this.peek().pos, () => this.or());
  }

  private or(): Node {
    let left = this.and();
    while (this.isWord('or') || this.isOp('||')) {
      const t = this.next();
      left = { type: 'logical', op: 'or', left, right: this.and(), pos: t.pos };
    }
    return left;
  }

  private and(): Node {
    let left = this.not();
    while (this.isWord('and') || this.isOp('&&')) {
      const t = this.next();
      left = { type: 'logical', op: 'and', left, right: this.not(), pos: t.pos };
    }
    return left;
  }

  private not(): Node {
    if ((this.isWord('not') && !this.isWord('in', 1)) || this.isOp('!')) {
      const t = this.next();
      return this.nested(t.pos, () => ({ type: 'not', arg: this.not(), pos: t.pos }) as Node);
    }
    return this.comparison();
  }

  private comparison(): Node {
    const left = this.additive();
    const t = this.peek();
    let op: CompareOp | undefined;
    if (t.kind === 'op' && COMPARE_OPS.has(t.value)) {
      this.next();
      op = t.value as CompareOp;
    } else if (this.isWord('in')) {
      this.next();
      op = 'in';
    } else if (this.isWord('not') && this.isWord('in', 1)) {
      this.next();
      this.next();
      op = 'not in';
    }
    if (!op) return left;
    const node: Node = { type: 'compare', op, left, right: this.additive(), pos: t.pos };
    const after = this.peek();
    if ((after.kind === 'op' && COMPARE_OPS.has(after.value)) || this.isWord('in'))
      throw new ExpressionError('comparisons cannot be chained; combine them with and/or', after.pos);
    return node;
  }

  private additive(): Node {
    let left = this.multiplicative();
    while (this.isOp('+', '-')) {
      const t = this.next();
      left = { type: 'arithmetic', op: t.value as ArithmeticOp, left, right: this.multiplicative(), pos: t.pos };
    }
    return left;
  }

  private multiplicative(): Node {
    let left = this.unary();
    while (this.isOp('*', '/', '%')) {
      const t = this.next();
      left = { type: 'arithmetic', op: t.value as ArithmeticOp, left, right: this.unary(), pos: t.pos };
    }
    return left;
  }

  private unary(): Node {
    if (this.isOp('-')) {
      const t = this.next();
      return this.nested(t.pos, () => ({ type: 'negate', arg: this.unary(), pos: t.pos }) as Node);
    }
    if (this.isOp('!') || (this.isWord('not') && !this.isWord('in', 1))) {
      const t = this.next();
      return this.nested(t.pos, () => ({ type: 'not', arg: this.unary(), pos: t.pos }) as Node);
    }
    return this.postfix();
  }

  private postfix(): Node {
    let node = this.primary();
    for (;;) {
      if (this.isPunct('.')) {
        this.next();
        const name = this.peek();
        if (name.kind !== 'ident')
          throw new ExpressionError(`expected a field name after '.', found ${describe(name)}`, name.pos);
        this.next();
        this.checkName(name.value, name.pos);
        node =
          node.type === 'field'
            ? { type: 'field', path: [...node.path, name.value], pos: node.pos }
            : {
                type: 'member',
                object: node,
                key: { type: 'literal', value: name.value, pos: name.pos },
                pos: name.pos,
              };
        continue;
      }
      if (this.isPunct('[')) {
        const open = this.next();
        const key = this.nested(open.pos, () => this.or());
        this.expect(']', "']'");
        if (key.type === 'literal' && typeof key.value === 'string') this.checkName(key.value, key.pos);
        if (node.type === 'field' && key.type === 'literal' && typeof key.value === 'string')
          node = { type: 'field', path: [...node.path, key.value], pos: node.pos };
        else node = { type: 'member', object: node, key, pos: open.pos };
        continue;
      }
      return node;
    }
  }

  private checkName(name: string, pos: number): void {
    if (FORBIDDEN_NAMES.has(name)) throw new ExpressionError(`'${name}' is not allowed in expressions`, pos);
  }

  private primary(): Node {
    const t = this.peek();
    switch (t.kind) {
      case 'number': {
        this.next();
        const value = Number(t.value);
        if (!Number.isFinite(value)) throw new ExpressionError(`number ${t.value} is out of range`, t.pos);
        return { type: 'literal', value, pos: t.pos };
      }
      case 'string':
        this.next();
        return { type: 'literal', value: t.value, pos: t.pos };
      case 'ident': {
        if (t.value === 'true' || t.value === 'false') {
          this.next();
          return { type: 'literal', value: t.value === 'true', pos: t.pos };
        }
        if (t.value === 'null') {
          this.next();
          return { type: 'literal', value: null, pos: t.pos };
        }
        if (KEYWORDS.has(t.value)) throw new ExpressionError(`unexpected '${t.value}'`, t.pos);
        this.checkName(t.value, t.pos);
        this.next();
        if (this.isPunct('(')) return this.call(t);
        return { type: 'field', path: [t.value], pos: t.pos };
      }
      case 'punct':
        if (t.value === '(') {
          this.next();
          const inner = this.nested(t.pos, () => this.or());
          this.expect(')', "')'");
          return inner;
        }
        if (t.value === '[') return this.list();
        break;
      default:
        break;
    }
    throw new ExpressionError(`unexpected ${describe(t)}`, t.pos);
  }

  private call(name: Token): Node {
    this.next(); // (
    const args: Node[] = [];
    this.nested(name.pos, () => {
      if (!this.isPunct(')')) {
        for (;;) {
          args.push(this.or());
          if (this.isPunct(',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expect(')', "')' or ','");
    });
    return { type: 'call', name: name.value, args, pos: name.pos };
  }

  private list(): Node {
    const open = this.next();
    const items: Node[] = [];
    this.nested(open.pos, () => {
      if (!this.isPunct(']')) {
        for (;;) {
          items.push(this.or());
          if (items.length > EXPRESSION_LIMITS.maxListLength)
            throw new ExpressionError(`lists are limited to ${EXPRESSION_LIMITS.maxListLength} items`, open.pos);
          if (this.isPunct(',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expect(']', "']' or ','");
    });
    return { type: 'list', items, pos: open.pos };
  }
}

/** Parses an expression into its syntax tree; throws ExpressionError naming the position. */
export function parseExpression(source: string): Node {
  const tokens = tokenize(source);
  if (tokens.length === 1) throw new ExpressionError('the expression is empty', 0);
  return new Parser(tokens).parse();
}
