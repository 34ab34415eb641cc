import { isDecimalString, roundDecimal } from '../decimal';
import { getKey, type Scope, type Value } from '../expression/expression-evaluator';
import { FORBIDDEN_NAMES } from '../expression/expression-error';
import type { FieldCatalog } from '../expression/expression';

/** A message template that names a field the rule's data does not have, or is malformed. */
export class TemplateError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
    this.name = 'TemplateError';
  }
}

type Part = { text: string } | { path: string[]; format?: string; pos: number };

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$/;
const FORMAT = /^(\.(\d{1,2})[f%]|d)$/;
export const TEMPLATE_MAX_LENGTH = 2000;

/**
 * A message with named fields: `Workflow failed: {workflow_name} - {error}`, formats `{rate:.1%}`,
 * `{cost:.2f}`, `{count:d}`, literal braces as `{{` and `}}`. Python's str.format subset the seed uses.
 */
export class MessageTemplate {
  private constructor(
    readonly source: string,
    private readonly parts: Part[],
  ) {}

  /** Root field names the template uses. */
  get fields(): string[] {
    return [...new Set(this.parts.flatMap((p) => ('path' in p ? [p.path[0]] : [])))];
  }

  /**
   * Parses and checks the template: every field must exist in the catalog (or be one of `extra`).
   * Throws TemplateError naming the field, its position and the fields that exist.
   */
  static compile(source: string, catalog: FieldCatalog, extra: readonly string[] = []): MessageTemplate {
    if (source.length > TEMPLATE_MAX_LENGTH)
      throw new TemplateError(`the template is longer than ${TEMPLATE_MAX_LENGTH} characters`, TEMPLATE_MAX_LENGTH);
    const parts: Part[] = [];
    let text = '';
    let i = 0;
    while (i < source.length) {
      const c = source[i];
      if (c === '{' && source[i + 1] === '{') {
        text += '{';
        i += 2;
        continue;
      }
      if (c === '}' && source[i + 1] === '}') {
        text += '}';
        i += 2;
        continue;
      }
      if (c === '}') throw new TemplateError("single '}' (write '}}' for a literal brace)", i);
      if (c !== '{') {
        text += c;
        i++;
        continue;
      }
      const close = source.indexOf('}', i + 1);
      if (close < 0) throw new TemplateError("unclosed '{' (write '{{' for a literal brace)", i);
      const inner = source.slice(i + 1, close).trim();
      const colon = inner.indexOf(':');
      const name = colon < 0 ? inner : inner.slice(0, colon).trim();
      const format = colon < 0 ? undefined : inner.slice(colon + 1).trim();
      if (!name) throw new TemplateError('empty field name in {}', i);
      if (!PATH.test(name)) throw new TemplateError(`'${name}' is not a field name`, i + 1);
      const path = name.split('.');
      const bad = path.find((p) => FORBIDDEN_NAMES.has(p));
      if (bad) throw new TemplateError(`'${bad}' is not allowed in templates`, i + 1);
      if (format !== undefined && !FORMAT.test(format))
        throw new TemplateError(`unsupported format '${format}' for field '${name}' (use .Nf, .N% or d)`, i + 1);
      const root = path[0];
      const spec = catalog.field(root);
      if (!spec && !extra.includes(root)) {
        const known = [...new Set([...catalog.names(), ...extra])];
        throw new TemplateError(
          `field '${root}' is not a field of ${catalog.description} (known: ${known.join(', ')})`,
          i + 1,
        );
      }
      if (spec && path.length > 1 && spec.type !== 'map')
        throw new TemplateError(`field '${root}' is a ${spec.type}, it has no '${path[1]}'`, i + 1);
      if (text) parts.push({ text });
      text = '';
      parts.push({ path, format, pos: i });
      i = close + 1;
    }
    if (text) parts.push({ text });
    return new MessageTemplate(source, parts);
  }

  render(scope: Scope): string {
    let out = '';
    for (const p of this.parts) {
      if ('text' in p) {
        out += p.text;
        continue;
      }
      let v: Value = scope;
      for (const key of p.path) v = getKey(v, key);
      out += formatValue(v, p.format);
    }
    return out;
  }
}

export function formatValue(v: Value, format?: string): string {
  if (v === null) return '';
  const n = typeof v === 'number' ? v : isDecimalString(v) ? Number(v) : undefined;
  if (format && n !== undefined && Number.isFinite(n)) {
    if (format === 'd') return String(Math.round(n));
    const digits = Number(format.slice(1, -1));
    if (format.endsWith('%')) return `${(n * 100).toFixed(digits)}%`;
    // Money arrives as decimal strings: round those exactly, not through a binary float.
    if (typeof v === 'string') return roundDecimal(v, digits);
    return n.toFixed(digits);
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
