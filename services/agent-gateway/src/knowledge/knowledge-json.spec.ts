import { FILTER_LIMITS, jsonObjectProblem, METADATA_LIMITS } from './knowledge-json';

describe('jsonObjectProblem', () => {
  it('accepts small JSON objects', () => {
    expect(
      jsonObjectProblem({ team: 'payments', tags: ['a', 1, true, null], owner: { id: 3 } }, 'filter', FILTER_LIMITS),
    ).toBeUndefined();
    expect(jsonObjectProblem({}, 'filter', FILTER_LIMITS)).toBeUndefined();
  });

  it('names the field at fault', () => {
    expect(jsonObjectProblem('team=payments', 'filter', FILTER_LIMITS)?.reason).toMatch(/JSON object/);
    expect(jsonObjectProblem([1], 'filter', FILTER_LIMITS)?.field).toBe('filter');
    expect(jsonObjectProblem({ a: { b: { c: { d: { e: 1 } } } } }, 'filter', FILTER_LIMITS)).toEqual({
      field: 'filter.a.b.c.d',
      reason: 'nests deeper than 4 levels',
    });
    expect(jsonObjectProblem({ n: Number.NaN }, 'filter', FILTER_LIMITS)?.field).toBe('filter.n');
    expect(jsonObjectProblem({ big: 'x'.repeat(5000) }, 'filter', FILTER_LIMITS)?.reason).toMatch(/4096 bytes/);
    expect(jsonObjectProblem({ title: 'x' }, 'metadata', METADATA_LIMITS, ['title'])).toEqual({
      field: 'metadata.title',
      reason: '"title" is set by the knowledge base; use another key',
    });
  });
});
