import type { OutputSchema } from './catalog.types';
import { normalizeHeading, parseSections } from './section-parser';

const schema: OutputSchema = {
  type: 'object',
  required: ['summary', 'root_cause', 'fix'],
  properties: {
    summary: { type: 'string', title: 'Summary', description: 'd' },
    root_cause: { type: 'string', title: 'Root Cause', description: 'd' },
    fix: { type: 'string', title: 'Fix', description: 'd' },
  },
};

describe('parseSections', () => {
  it('maps headings to keys case-insensitively and keeps text up to the next level-2 heading', () => {
    const md = [
      'Preamble is ignored.',
      '## summary',
      'It crashed.',
      '',
      '### Detail',
      'A level-3 heading stays inside the section.',
      '##   ROOT CAUSE  ',
      'Null pointer.',
      '## Fix',
      'Check for null.',
    ].join('\n');
    expect(parseSections(md, schema)).toEqual({
      summary: 'It crashed.\n\n### Detail\nA level-3 heading stays inside the section.',
      root_cause: 'Null pointer.',
      fix: 'Check for null.',
    });
  });

  it('ignores headings inside fenced code blocks', () => {
    const md = ['## Fix', '```md', '## Summary', 'not a heading', '```', 'after'].join('\n');
    expect(parseSections(md, schema)).toEqual({ fix: '```md\n## Summary\nnot a heading\n```\nafter' });
  });

  it('drops sections whose heading is not in the schema and omits absent sections', () => {
    const md = '## Summary\nok\n## Extra thoughts\nnoise\n## Fix\ndone';
    expect(parseSections(md, schema)).toEqual({ summary: 'ok', fix: 'done' });
  });

  it('accepts closing hashes, bold and a trailing colon; needs a space after ##', () => {
    const md = '## **Summary**:\none\n##Fix\nstill summary\n## Fix ##\ntwo';
    expect(parseSections(md, schema)).toEqual({ summary: 'one\n##Fix\nstill summary', fix: 'two' });
  });

  it('joins a repeated section with a blank line', () => {
    expect(parseSections('## Fix\na\n## Summary\ns\n## Fix\nb', schema)).toEqual({ fix: 'a\n\nb', summary: 's' });
  });

  it('returns nothing for an answer without headings', () => {
    expect(parseSections('just text', schema)).toEqual({});
  });
});

describe('normalizeHeading', () => {
  it('trims, lower-cases and collapses whitespace', () => {
    expect(normalizeHeading('  Root   Cause ')).toBe('root cause');
    expect(normalizeHeading('**Root Cause:**')).toBe('root cause');
    expect(normalizeHeading('__Fix__ ##')).toBe('fix');
  });
});
