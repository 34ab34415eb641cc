import { ExpressionError } from './expression-error';
import { evaluate, FUNCTIONS, isTrue, type Scope, type Value } from './expression-evaluator';
import { parseExpression, type Node } from './expression-parser';

export type FieldType = 'string' | 'number' | 'boolean' | 'decimal' | 'map' | 'timestamp';

export interface FieldSpec {
  type: FieldType;
  doc: string;
}

/** The fields an expression may read (an event type's fields, or a metric's). */
export interface FieldCatalog {
  /** What the fields belong to, for error messages ("workflow events"). */
  readonly description: string;
  field(name: string): FieldSpec | undefined;
  names(): string[];
}

/** A parsed, checked expression, ready to run any number of times. */
export class CompiledExpression {
  constructor(
    readonly source: string,
    readonly ast: Node,
    /** Root fields it reads. */
    readonly fields: readonly string[],
  ) {}

  evaluate(scope: Scope): Value {
    return evaluate(this.ast, scope);
  }

  /** True only when the expression evaluates to the boolean true. */
  test(scope: Scope): boolean {
    return isTrue(evaluate(this.ast, scope));
  }
}

function check(node: Node, catalog: FieldCatalog | undefined, fields: Set<string>): void {
  switch (node.type) {
    case 'literal':
      return;
    case 'field': {
      const root = node.path[0];
      if (catalog) {
        const spec = catalog.field(root);
        if (!spec) {
          const known = catalog.names();
          throw new ExpressionError(
            `unknown field '${root}' (${catalog.description} have: ${known.join(', ')})`,
            node.pos,
          );
        }
        if (node.path.length > 1 && spec.type !== 'map')
          throw new ExpressionError(`field '${root}' is a ${spec.type}, it has no '${node.path[1]}'`, node.pos);
      }
      fields.add(root);
      return;
    }
    case 'member':
      check(node.object, catalog, fields);
      check(node.key, catalog, fields);
      return;
    case 'list':
      node.items.forEach((n) => check(n, catalog, fields));
      return;
    case 'not':
    case 'negate':
      check(node.arg, catalog, fields);
      return;
    case 'logical':
    case 'compare':
    case 'arithmetic':
      check(node.left, catalog, fields);
      check(node.right, catalog, fields);
      return;
    case 'call': {
      const spec = FUNCTIONS.get(node.name);
      if (!spec)
        throw new ExpressionError(
          `unknown function '${node.name}' (available: ${[...FUNCTIONS.keys()].join(', ')})`,
          node.pos,
        );
      if (node.args.length < spec.min || node.args.length > spec.max) {
        const want = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
        throw new ExpressionError(
          `${node.name}() takes ${want} argument${spec.max === 1 ? '' : 's'}, got ${node.args.length}`,
          node.pos,
        );
      }
      node.args.forEach((n) => check(n, catalog, fields));
      return;
    }
  }
}

/**
 * Parses and checks an expression: syntax, known functions and arity, and (with a catalog) that every
 * field it reads exists. Throws ExpressionError with the reason and position. No JavaScript is ever
 * evaluated: the result is a tree interpreted by `evaluate` over plain data.
 */
export function compileExpression(source: string, catalog?: FieldCatalog): CompiledExpression {
  const ast = parseExpression(source);
  const fields = new Set<string>();
  check(ast, catalog, fields);
  return new CompiledExpression(source, ast, [...fields]);
}

export { ExpressionError, EXPRESSION_LIMITS } from './expression-error';
export type { Scope, Value } from './expression-evaluator';
