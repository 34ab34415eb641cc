/** A template split into literal text and `{snake_case}` placeholders; `{{` / `}}` are literal braces. */
export type TemplatePart = { kind: 'text'; text: string } | { kind: 'placeholder'; name: string };

export interface ParsedTemplate {
  parts: TemplatePart[];
  /** Distinct placeholder names in order of first use. */
  placeholders: string[];
  /** Malformed braces or placeholder names, each with its character offset. */
  errors: string[];
}

const PLACEHOLDER_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const placeholders: string[] = [];
  const errors: string[] = [];
  let text = '';
  let i = 0;
  const flushText = (): void => {
    if (text) parts.push({ kind: 'text', text });
    text = '';
  };
  while (i < template.length) {
    const ch = template[i];
    if (ch === '{') {
      if (template[i + 1] === '{') {
        text += '{';
        i += 2;
        continue;
      }
      const close = template.indexOf('}', i + 1);
      const nextOpen = template.indexOf('{', i + 1);
      if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
        errors.push(`unescaped "{" at offset ${i} (write "{{" for a literal brace)`);
        text += '{';
        i += 1;
        continue;
      }
      const name = template.slice(i + 1, close);
      if (!PLACEHOLDER_NAME.test(name)) {
        errors.push(
          `"{${name}}" at offset ${i} is not a {snake_case} placeholder (write "{{" and "}}" for literal braces)`,
        );
        text += template.slice(i, close + 1);
      } else {
        flushText();
        parts.push({ kind: 'placeholder', name });
        if (!placeholders.includes(name)) placeholders.push(name);
      }
      i = close + 1;
      continue;
    }
    if (ch === '}') {
      if (template[i + 1] === '}') {
        text += '}';
        i += 2;
        continue;
      }
      errors.push(`unescaped "}" at offset ${i} (write "}}" for a literal brace)`);
      text += '}';
      i += 1;
      continue;
    }
    text += ch;
    i += 1;
  }
  flushText();
  return { parts, placeholders, errors };
}

/** The distinct placeholder names of a template, in order of first use. */
export function extractPlaceholders(template: string): string[] {
  return parseTemplate(template).placeholders;
}
