import { compareDecimal, isDecimalString, numberToDecimal } from '../decimal';
import { EXPRESSION_LIMITS, FORBIDDEN_NAMES } from './expression-error';
import type { Node } from './expression-parser';

/** What expressions compute with: JSON-like data only. Functions and prototypes are unreachable. */
export type Value = null | boolean | number | string | readonly Value[] | { readonly [key: string]: Value };
export type Scope = { readonly [key: string]: Value };

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

function isRecord(v: Value): v is { readonly [key: string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads one key of a value: own properties of plain data only; anything else is null. */
export function getKey(target: Value, key: Value): Value {
  if (Array.isArray(target)) {
    if (typeof key !== 'number' || !Number.isInteger(key) || key < 0 || key >= target.length) return null;
    return (target as readonly Value[])[key] ?? null;
  }
  if (!isRecord(target)) return null;
  if (typeof key !== 'string' && typeof key !== 'number') return null;
  const k = String(key);
  if (FORBIDDEN_NAMES.has(k) || !own(target, k)) return null;
  const v = target[k];
  return v === undefined ? null : v;
}

function str(v: Value): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: Value): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Equality without JavaScript's coercions; a number equals a decimal string of the same value. */
export function valuesEqual(a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' && typeof b === 'string') return compareMixed(a, b) === 0;
  if (typeof a === 'string' && typeof b === 'number') return compareMixed(b, a) === 0;
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => own(b, k) && valuesEqual(a[k], b[k]));
  }
  return a === b;
}

/** number vs decimal string, exactly when both have a decimal form; undefined when not comparable. */
function compareMixed(n: number, s: string): number | undefined {
  if (!isDecimalString(s)) return undefined;
  const d = numberToDecimal(n);
  if (d !== undefined) return compareDecimal(d, s);
  const f = Number(s);
  return n < f ? -1 : n > f ? 1 : 0;
}

/** Ordering of two values, or undefined when they are not comparable (then every ordering test is false). */
function order(a: Value, b: Value): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') {
    if (isDecimalString(a) && isDecimalString(b)) return compareDecimal(a, b);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'number' && typeof b === 'string') return compareMixed(a, b);
  if (typeof a === 'string' && typeof b === 'number') {
    const r = compareMixed(b, a);
    return r === undefined ? undefined : -r;
  }
  return undefined;
}

function truthy(v: Value): boolean {
  return v === true;
}

function clampString(s: string): string | null {
  return s.length > EXPRESSION_LIMITS.maxStringLength ? null : s;
}

function toNumber(v: Value): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && isDecimalString(v)) return Number(v);
  return null;
}

function display(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export interface FunctionSpec {
  min: number;
  max: number;
  doc: string;
  fn: (args: Value[]) => Value;
}

const math = (f: (n: number) => number) => (args: Value[]) => {
  const n = toNumber(args[0]);
  return n === null ? null : f(n);
};

/** The only functions an expression can call. */
export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map<string, FunctionSpec>([
  [
    'len',
    {
      min: 1,
      max: 1,
      doc: 'length of a string or list, number of keys of a map',
      fn: ([v]) =>
        typeof v === 'string' ? v.length : Array.isArray(v) ? v.length : isRecord(v) ? Object.keys(v).length : null,
    },
  ],
  ['lower', { min: 1, max: 1, doc: 'lower-case string', fn: ([v]) => str(v)?.toLowerCase() ?? null }],
  ['upper', { min: 1, max: 1, doc: 'upper-case string', fn: ([v]) => str(v)?.toUpperCase() ?? null }],
  ['trim', { min: 1, max: 1, doc: 'string without surrounding spaces', fn: ([v]) => str(v)?.trim() ?? null }],
  [
    'contains',
    {
      min: 2,
      max: 2,
      doc: 'string contains a substring, or list contains a value',
      fn: ([a, b]) =>
        typeof a === 'string' && typeof b === 'string'
          ? a.includes(b)
          : Array.isArray(a)
            ? (a as readonly Value[]).some((x) => valuesEqual(x, b))
            : false,
    },
  ],
  [
    'startsWith',
    {
      min: 2,
      max: 2,
      doc: 'string starts with a prefix',
      fn: ([a, b]) => (typeof a === 'string' && typeof b === 'string' ? a.startsWith(b) : false),
    },
  ],
  [
    'endsWith',
    {
      min: 2,
      max: 2,
      doc: 'string ends with a suffix',
      fn: ([a, b]) => (typeof a === 'string' && typeof b === 'string' ? a.endsWith(b) : false),
    },
  ],
  ['abs', { min: 1, max: 1, doc: 'absolute value', fn: math(Math.abs) }],
  ['floor', { min: 1, max: 1, doc: 'round down', fn: math(Math.floor) }],
  ['ceil', { min: 1, max: 1, doc: 'round up', fn: math(Math.ceil) }],
  [
    'round',
    {
      min: 1,
      max: 2,
      doc: 'round to n decimals (default 0)',
      fn: ([v, d]) => {
        const n = toNumber(v);
        const digits = d === undefined ? 0 : num(d);
        if (n === null || digits === null || !Number.isInteger(digits) || digits < 0 || digits > 12) return null;
        const f = 10 ** digits;
        return Math.round(n * f) / f;
      },
    },
  ],
  [
    'min',
    {
      min: 1,
      max: 20,
      doc: 'smallest number',
      fn: (args) => {
        const ns = args.map(toNumber);
        return ns.some((n) => n === null) ? null : Math.min(...(ns as number[]));
      },
    },
  ],
  [
    'max',
    {
      min: 1,
      max: 20,
      doc: 'largest number',
      fn: (args) => {
        const ns = args.map(toNumber);
        return ns.some((n) => n === null) ? null : Math.max(...(ns as number[]));
      },
    },
  ],
  ['number', { min: 1, max: 1, doc: 'a number from a number or a decimal string', fn: ([v]) => toNumber(v) }],
  ['string', { min: 1, max: 1, doc: 'a value as a string', fn: ([v]) => clampString(display(v)) }],
  [
    'coalesce',
    {
      min: 1,
      max: 20,
      doc: 'the first argument that is neither null nor an empty string',
      fn: (args) => args.find((a) => a !== null && a !== '') ?? null,
    },
  ],
  [
    'exists',
    { min: 1, max: 1, doc: 'the value is neither null nor an empty string', fn: ([v]) => v !== null && v !== '' },
  ],
]);

/** Evaluates a syntax tree against data. Total: never throws on data, returns null for nonsense. */
export function evaluate(node: Node, scope: Scope): Value {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'field': {
      let v: Value = scope;
      for (const key of node.path) {
        v = getKey(v, key);
        if (v === null) return null;
      }
      return v;
    }
    case 'member':
      return getKey(evaluate(node.object, scope), evaluate(node.key, scope));
    case 'list':
      return node.items.map((item) => evaluate(item, scope));
    case 'not':
      return !truthy(evaluate(node.arg, scope));
    case 'negate': {
      const n = toNumber(evaluate(node.arg, scope));
      return n === null ? null : -n;
    }
    case 'logical': {
      const left = truthy(evaluate(node.left, scope));
      if (node.op === 'and') return left ? truthy(evaluate(node.right, scope)) : false;
      return left ? true : truthy(evaluate(node.right, scope));
    }
    case 'compare': {
      const a = evaluate(node.left, scope);
      const b = evaluate(node.right, scope);
      switch (node.op) {
        case '==':
          return valuesEqual(a, b);
        case '!=':
          return !valuesEqual(a, b);
        case 'in':
        case 'not in': {
          let found: boolean;
          if (Array.isArray(b)) found = (b as readonly Value[]).some((x) => valuesEqual(a, x));
          else if (typeof b === 'string') found = typeof a === 'string' && b.includes(a);
          else if (isRecord(b)) found = typeof a === 'string' && !FORBIDDEN_NAMES.has(a) && own(b, a);
          else found = false;
          return node.op === 'in' ? found : !found;
        }
        default: {
          const o = order(a, b);
          if (o === undefined) return false;
          if (node.op === '<') return o < 0;
          if (node.op === '<=') return o <= 0;
          if (node.op === '>') return o > 0;
          return o >= 0;
        }
      }
    }
    case 'arithmetic': {
      const a = evaluate(node.left, scope);
      const b = evaluate(node.right, scope);
      if (node.op === '+' && typeof a === 'string' && typeof b === 'string') return clampString(a + b);
      const x = toNumber(a);
      const y = toNumber(b);
      if (x === null || y === null) return null;
      let r: number;
      switch (node.op) {
        case '+':
          r = x + y;
          break;
        case '-':
          r = x - y;
          break;
        case '*':
          r = x * y;
          break;
        case '/':
          if (y === 0) return null;
          r = x / y;
          break;
        default:
          if (y === 0) return null;
          r = x % y;
      }
      return Number.isFinite(r) ? r : null;
    }
    case 'call': {
      const spec = FUNCTIONS.get(node.name);
      if (!spec) return null;
      return spec.fn(node.args.map((a) => evaluate(a, scope)));
    }
  }
}

export { truthy as isTrue };
