import { extractPlaceholders, parseTemplate } from './template-parser';

describe('parseTemplate', () => {
  it('splits text and placeholders and lists distinct names in order of first use', () => {
    const parsed = parseTemplate('Fix {bug_id} in {file}; then re-check {bug_id}.');
    expect(parsed.errors).toEqual([]);
    expect(parsed.placeholders).toEqual(['bug_id', 'file']);
    expect(parsed.parts).toEqual([
      { kind: 'text', text: 'Fix ' },
      { kind: 'placeholder', name: 'bug_id' },
      { kind: 'text', text: ' in ' },
      { kind: 'placeholder', name: 'file' },
      { kind: 'text', text: '; then re-check ' },
      { kind: 'placeholder', name: 'bug_id' },
      { kind: 'text', text: '.' },
    ]);
  });

  it('treats {{ and }} as literal braces, also around a placeholder', () => {
    const parsed = parseTemplate('Return {{"ok": true}} for {{{name}}}');
    expect(parsed.errors).toEqual([]);
    expect(parsed.placeholders).toEqual(['name']);
    expect(parsed.parts).toEqual([
      { kind: 'text', text: 'Return {"ok": true} for {' },
      { kind: 'placeholder', name: 'name' },
      { kind: 'text', text: '}' },
    ]);
  });

  it('reports a lone closing brace', () => {
    expect(parseTemplate('a } b').errors).toEqual(['unescaped "}" at offset 2 (write "}}" for a literal brace)']);
  });

  it('reports an unclosed opening brace', () => {
    expect(parseTemplate('a { b').errors).toEqual(['unescaped "{" at offset 2 (write "{{" for a literal brace)']);
  });

  it('reports braces around something that is not a snake_case name', () => {
    const { errors, placeholders } = parseTemplate('JSON: {"a": 1} and {Name} and {two words}');
    expect(placeholders).toEqual([]);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toContain('"{"a": 1}" at offset 6 is not a {snake_case} placeholder');
    expect(errors[1]).toContain('{Name}');
    expect(errors[2]).toContain('{two words}');
  });
});

describe('extractPlaceholders', () => {
  it('returns the placeholder names only', () => {
    expect(extractPlaceholders('{a} {{b}} {c_d}')).toEqual(['a', 'c_d']);
  });
});
