import { useMemo, type FormEvent, type ReactNode } from 'react';
import type { JsonSchema } from '../types';
import { Field } from './common';

/** Form values as typed in: strings for text fields, booleans for checkboxes. */
export type FormValues = Record<string, string | boolean>;

function typeOf(schema: JsonSchema): string {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  if (t) return t;
  if (schema.enum) return 'string';
  if (schema.properties) return 'object';
  return 'string';
}

function label(name: string, schema: JsonSchema): string {
  return schema.title ?? name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** Initial values from the schema's defaults. */
export function initialValues(schema: JsonSchema | null | undefined): FormValues {
  const values: FormValues = {};
  for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
    const t = typeOf(prop);
    if (t === 'boolean') values[name] = prop.default === true;
    else if (prop.default !== undefined)
      values[name] =
        t === 'array' && Array.isArray(prop.default)
          ? prop.default.join('\n')
          : typeof prop.default === 'object'
            ? JSON.stringify(prop.default, null, 2)
            : String(prop.default);
    else values[name] = '';
  }
  return values;
}

/** Turns typed-in values into the JSON the API expects; returns field errors for what cannot be converted. */
export function toInputs(
  schema: JsonSchema | null | undefined,
  values: FormValues,
): { inputs: Record<string, unknown>; errors: Record<string, string> } {
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const required = new Set(schema?.required ?? []);
  for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
    const t = typeOf(prop);
    const raw = values[name];
    if (t === 'boolean') {
      if (raw === true || required.has(name)) inputs[name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (text.trim() === '') {
      if (required.has(name)) errors[name] = 'is required';
      continue;
    }
    if (t === 'integer' || t === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n) || (t === 'integer' && !Number.isInteger(n)))
        errors[name] = t === 'integer' ? 'must be a whole number' : 'must be a number';
      else inputs[name] = n;
    } else if (t === 'array') {
      const itemType = prop.items ? typeOf(prop.items) : 'string';
      const lines = text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      inputs[name] = itemType === 'integer' || itemType === 'number' ? lines.map(Number) : lines;
    } else if (t === 'object') {
      try {
        inputs[name] = JSON.parse(text);
      } catch {
        errors[name] = 'must be JSON';
      }
    } else inputs[name] = text;
  }
  return { inputs, errors };
}

/**
 * A form generated from a JSON Schema of an object: text, long text, numbers, choices, checkboxes,
 * lists (one item a line) and JSON for nested objects; required fields marked; errors per field.
 */
export function SchemaForm({
  schema,
  values,
  onChange,
  errors,
  onSubmit,
  submitLabel,
  busy,
  idPrefix,
  extra,
}: {
  schema: JsonSchema | null | undefined;
  values: FormValues;
  onChange: (values: FormValues) => void;
  errors: Record<string, string>;
  onSubmit: () => void;
  submitLabel: string;
  busy?: boolean;
  idPrefix: string;
  extra?: ReactNode;
}) {
  const required = useMemo(() => new Set(schema?.required ?? []), [schema]);
  const entries = Object.entries(schema?.properties ?? {});
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit();
  };
  const set = (name: string, value: string | boolean) => onChange({ ...values, [name]: value });
  return (
    <form className="form schema-form" onSubmit={submit} noValidate>
      {entries.length === 0 && <p className="muted">This takes no inputs.</p>}
      {entries.map(([name, prop]) => {
        const t = typeOf(prop);
        const id = `${idPrefix}-${name}`;
        const text = typeof values[name] === 'string' ? (values[name] as string) : '';
        const title = `${label(name, prop)}${required.has(name) ? ' *' : ''}`;
        let control: ReactNode;
        if (prop.enum) {
          control = (
            <select id={id} name={name} value={text} onChange={(e) => set(name, e.target.value)}>
              <option value="">{required.has(name) ? 'Choose…' : '(none)'}</option>
              {prop.enum.map((v) => (
                <option key={String(v)} value={String(v)}>
                  {String(v)}
                </option>
              ))}
            </select>
          );
        } else if (t === 'boolean') {
          control = (
            <input
              id={id}
              name={name}
              type="checkbox"
              checked={values[name] === true}
              onChange={(e) => set(name, e.target.checked)}
            />
          );
        } else if (t === 'integer' || t === 'number') {
          control = (
            <input
              id={id}
              name={name}
              type="number"
              inputMode="decimal"
              step={t === 'integer' ? 1 : 'any'}
              min={prop.minimum}
              max={prop.maximum}
              value={text}
              onChange={(e) => set(name, e.target.value)}
            />
          );
        } else if (t === 'array' || t === 'object' || !prop.maxLength || prop.maxLength > 200) {
          control = (
            <textarea
              id={id}
              name={name}
              rows={t === 'object' ? 5 : 3}
              value={text}
              placeholder={t === 'array' ? 'One item a line' : t === 'object' ? '{ }' : undefined}
              onChange={(e) => set(name, e.target.value)}
            />
          );
        } else {
          control = (
            <input
              id={id}
              name={name}
              type="text"
              maxLength={prop.maxLength}
              value={text}
              onChange={(e) => set(name, e.target.value)}
            />
          );
        }
        return (
          <Field key={name} label={title} hint={prop.description} error={errors[name]}>
            {control}
          </Field>
        );
      })}
      {extra}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Working…' : submitLabel}
        </button>
      </div>
    </form>
  );
}

/** Maps an API error naming `inputs.<name>` (or `<name>`) to that field. */
export function fieldOfError(field: string | undefined, schema: JsonSchema | null | undefined): string | undefined {
  if (!field) return undefined;
  const name = field.replace(/^inputs\./, '').split('.')[0];
  return schema?.properties && name in schema.properties ? name : undefined;
}
