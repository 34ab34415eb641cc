import { eventCatalog } from '../event-types';
import { compileExpression, ExpressionError, EXPRESSION_LIMITS, type Scope } from './expression';

const workflow: Scope = {
  kind: 'FAILED',
  workflow_name: 'release',
  error: 'step build failed',
  attempt: 3,
  user_id: 'u-1',
  outputs: { summary: 'done', 'x-y': 2, nested: { deep: true } },
  tags: ['a', 'b'],
  spend_usd: '100.50',
  healthy: false,
  nothing: null,
};

const run = (src: string, scope: Scope = workflow) => compileExpression(src).evaluate(scope);
const test = (src: string, scope: Scope = workflow) => compileExpression(src).test(scope);

function errorOf(src: string, catalog = undefined as ReturnType<typeof eventCatalog> | undefined): ExpressionError {
  try {
    compileExpression(src, catalog);
  } catch (e) {
    if (e instanceof ExpressionError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(src.slice(0, 60))} to be rejected`);
}

describe('expression language: evaluation', () => {
  it('compares, combines and negates', () => {
    expect(test('kind == "FAILED"')).toBe(true);
    expect(test("kind != 'FAILED'")).toBe(false);
    expect(test('attempt >= 3 and attempt < 4')).toBe(true);
    expect(test('attempt > 5 or kind == "FAILED"')).toBe(true);
    expect(test('not healthy')).toBe(true);
    expect(test('!healthy && attempt == 3')).toBe(true);
    expect(test('not (attempt > 1)')).toBe(false);
    expect(test('attempt > 1 || false')).toBe(true);
  });

  it('does arithmetic with precedence, and null for nonsense', () => {
    expect(run('1 + 2 * 3')).toBe(7);
    expect(run('(1 + 2) * 3')).toBe(9);
    expect(run('-attempt + 10 % 4')).toBe(-1);
    expect(run('10 / 4')).toBe(2.5);
    expect(run('1 / 0')).toBeNull();
    expect(run('kind * 2')).toBeNull();
    expect(run('"a" + "b"')).toBe('ab');
    expect(run('1e3 + 0.5')).toBe(1000.5);
  });

  it('reads field paths, map keys and list items', () => {
    expect(run('outputs.summary')).toBe('done');
    expect(run('outputs["x-y"]')).toBe(2);
    expect(run('outputs.nested.deep')).toBe(true);
    expect(run('tags[1]')).toBe('b');
    expect(run('tags[5]')).toBeNull();
    expect(run('missing.field.path')).toBeNull();
    expect(run('nothing')).toBeNull();
  });

  it('has in / not in over lists, strings and maps', () => {
    expect(test('kind in ["FAILED", "CANCELLED"]')).toBe(true);
    expect(test('kind not in ["FAILED"]')).toBe(false);
    expect(test('"build" in error')).toBe(true);
    expect(test('"summary" in outputs')).toBe(true);
    expect(test('"a" in tags')).toBe(true);
    expect(test('3 in [1, 2, 3]')).toBe(true);
    expect(test('kind in 42')).toBe(false);
  });

  it('compares decimal strings exactly, also against numbers', () => {
    expect(test('spend_usd > 100')).toBe(true);
    expect(test('spend_usd > 100.5')).toBe(false);
    expect(test('spend_usd == 100.5')).toBe(true);
    expect(test('spend_usd >= "100.500"')).toBe(true);
    expect(test('"99.99" < spend_usd')).toBe(true);
  });

  it('never coerces like JavaScript', () => {
    expect(test('attempt == "3"')).toBe(true); // decimal string of the same value
    expect(test('healthy == 0')).toBe(false);
    expect(test('nothing == 0')).toBe(false);
    expect(test('nothing == null')).toBe(true);
    expect(test('kind > 1')).toBe(false);
    expect(test('attempt')).toBe(false); // only the boolean true is true
    expect(test('[1] == [1]')).toBe(true);
  });

  it('calls the whitelisted functions', () => {
    expect(run('len(error)')).toBe(17);
    expect(run('len(tags)')).toBe(2);
    expect(run('lower(kind)')).toBe('failed');
    expect(run('upper("x")')).toBe('X');
    expect(test('contains(error, "build")')).toBe(true);
    expect(test('startsWith(workflow_name, "rel")')).toBe(true);
    expect(test('endsWith(workflow_name, "ase")')).toBe(true);
    expect(run('round(2.345, 2)')).toBe(2.35);
    expect(run('max(1, attempt, 2)')).toBe(3);
    expect(run('min(4, 2)')).toBe(2);
    expect(run('abs(-2)')).toBe(2);
    expect(run('number(spend_usd)')).toBe(100.5);
    expect(run('string(attempt)')).toBe('3');
    expect(run('coalesce(nothing, "", "x")')).toBe('x');
    expect(test('exists(user_id) and not exists(nothing)')).toBe(true);
  });
});

describe('expression language: rejected at compile time, naming the position', () => {
  it('reports syntax errors with their position', () => {
    expect(errorOf('kind == ').position).toBe(8);
    expect(errorOf('kind == "FAILED" and').message).toMatch(/at position 20/);
    const e = errorOf('(attempt > 1');
    expect(e.reason).toMatch(/expected '\)'/);
    expect(e.position).toBe(12);
    expect(errorOf('attempt > 1)').position).toBe(11);
    expect(errorOf('kind = "x"').position).toBe(5);
    expect(errorOf('"unterminated').position).toBe(0);
    expect(errorOf('a ; b').position).toBe(2);
    expect(errorOf('1 < 2 < 3').reason).toMatch(/cannot be chained/);
    expect(errorOf('').reason).toMatch(/empty/);
    expect(errorOf('x.').reason).toMatch(/field name/);
    expect(errorOf('12abc').position).toBe(2);
  });

  it('rejects unknown functions and wrong arity', () => {
    expect(errorOf('eval("1")').reason).toMatch(/unknown function 'eval'/);
    expect(errorOf('  require("fs")').position).toBe(2);
    expect(errorOf('len()').reason).toMatch(/takes 1 argument/);
    expect(errorOf('round(1, 2, 3)').reason).toMatch(/takes 1 to 2 arguments/);
  });

  it('rejects fields the event type does not have, naming them', () => {
    const catalog = eventCatalog('workflow');
    const e = errorOf('kind == "FAILED" and workflw_name == "x"', catalog);
    expect(e.position).toBe(21);
    expect(e.reason).toMatch(/unknown field 'workflw_name'/);
    expect(e.reason).toMatch(/workflow_name/);
    expect(errorOf('kind.sub == 1', catalog).reason).toMatch(/is a string/);
    expect(() => compileExpression('outputs.anything == 1 and event_id != ""', catalog)).not.toThrow();
    expect(compileExpression('kind == "FAILED" and attempt > 1', catalog).fields).toEqual(['kind', 'attempt']);
  });
});

describe('expression language: hostile input', () => {
  it('refuses the names prototype escapes use, anywhere', () => {
    for (const src of [
      'constructor',
      '__proto__',
      'prototype',
      'outputs.constructor',
      'outputs.__proto__.polluted',
      'outputs["constructor"]',
      'outputs["__proto__"]',
      'len.constructor("return process")()',
      'kind.constructor.constructor("return this")()',
    ]) {
      const e = errorOf(src);
      expect(e.reason).toMatch(/is not allowed|unexpected|unknown function/);
    }
    expect(errorOf('outputs.__proto__').position).toBe(8);
  });

  it('cannot reach prototypes or functions through computed keys', () => {
    const key = '"__pro" + "to__"';
    expect(run(`outputs[${key}]`)).toBeNull();
    expect(run('outputs["cons" + "tructor"]')).toBeNull();
    expect(run('outputs["toString"]')).toBeNull();
    expect(run('outputs["hasOwnProperty"]')).toBeNull();
    expect(run('tags["length"]')).toBeNull();
    expect(run('"x"["length"]')).toBeNull();
    expect(test('"constructor" in outputs')).toBe(false);
    expect(test('"toString" in outputs')).toBe(false);
    // Data that itself carries a __proto__ key (e.g. from JSON) is still inert.
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Scope;
    expect(run('a', hostile)).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('bounds nesting depth', () => {
    const deep = `${'('.repeat(100)}1${')'.repeat(100)}`;
    const e = errorOf(deep);
    expect(e.reason).toMatch(/nests deeper than 32 levels/);
    expect(e.position).toBeLessThan(40);
    expect(errorOf(`${'not '.repeat(60)}true`).reason).toMatch(/nests deeper/);
    expect(errorOf(`${'-'.repeat(60)}1`).reason).toMatch(/nests deeper/);
    expect(errorOf(`${'['.repeat(60)}${']'.repeat(60)}`).reason).toMatch(/nests deeper/);
    expect(errorOf(`${'len('.repeat(60)}1${')'.repeat(60)}`).reason).toMatch(/nests deeper/);
    expect(() => compileExpression(`${'('.repeat(20)}1${')'.repeat(20)}`)).not.toThrow();
  });

  it('bounds the size of the input', () => {
    const huge = `kind == "${'x'.repeat(1_000_000)}"`;
    const e = errorOf(huge);
    expect(e.reason).toMatch(/limit is 2000/);
    expect(e.position).toBe(EXPRESSION_LIMITS.maxLength);
    const many = Array.from({ length: 400 }, () => '1').join(' + ');
    expect(errorOf(many).reason).toMatch(/more than 500 tokens/);
    const longList = `kind in [${Array.from({ length: 250 }, () => '1').join(',')}]`;
    expect(errorOf(longList).reason).toMatch(/limited to 200 items|more than 500 tokens/);
  });

  it('keeps built strings bounded', () => {
    const src = 'error + error';
    const big: Scope = { error: 'y'.repeat(6000) };
    expect(run(src, big)).toBeNull();
  });

  it('treats injection-looking strings as plain data', () => {
    const scope: Scope = { error: "'; DROP TABLE alerts; --", kind: '${process.exit()}' };
    expect(test('contains(error, "DROP TABLE")', scope)).toBe(true);
    expect(run('kind', scope)).toBe('${process.exit()}');
    expect(errorOf('process.exit()').reason).toMatch(/unexpected|unknown/);
    expect(errorOf('this', eventCatalog('workflow')).reason).toMatch(/unknown field 'this'/);
  });

  it('does not throw on any value shape at run time', () => {
    const expr = compileExpression('a.b > 1 and len(a) == 2 and a[0] in b and -a == 1 and a + 1 == 2');
    for (const a of [null, true, 1, 'x', [], [1, 2], {}, { b: 2 }, Number.NaN]) {
      expect(() => expr.evaluate({ a: a as never, b: a as never })).not.toThrow();
    }
  });
});
