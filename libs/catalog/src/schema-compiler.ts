import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * One Ajv (draft 2020-12) for seed schemas: all errors, unknown keywords are errors (so a typo such
 * as `minlenght` is caught), formats from ajv-formats. Type-strictness warnings are off: they are
 * style, not correctness, and Ajv would print them to the console.
 */
function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  return ajv;
}

const ajv = createAjv();
const byText = new Map<string, ValidateFunction>();

/**
 * Compiles a schema, cached by its JSON text (so an edited schema object is recompiled and equal
 * schemas share one validator). Throws Ajv's error if the schema is invalid.
 */
export function compileSchema(schema: object): ValidateFunction {
  const text = JSON.stringify(schema);
  let validate = byText.get(text);
  if (!validate) {
    validate = ajv.compile(structuredClone(schema));
    byText.set(text, validate);
  }
  return validate;
}

/** Returns why a schema does not compile, or undefined when it does. */
export function schemaCompileError(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'must be an object';
  try {
    compileSchema(schema);
    return undefined;
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** `/steps/2/retry` → `steps[2].retry`; the prefix is prepended (`commands.x` + `/difficulty`). */
export function pointerToField(prefix: string, instancePath: string): string {
  let field = prefix;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) field += `[${part}]`;
    else field += field ? `.${part}` : part;
  }
  return field;
}

/** The field an Ajv error is about: the missing/unknown property when there is one. */
export function ajvErrorField(error: ErrorObject, prefix = ''): string {
  const base = pointerToField(prefix, error.instancePath);
  const params = error.params as Record<string, unknown>;
  const child =
    error.keyword === 'required'
      ? params.missingProperty
      : error.keyword === 'additionalProperties'
        ? params.additionalProperty
        : undefined;
  if (typeof child === 'string') return base ? `${base}.${child}` : child;
  return base || '(root)';
}

/** A reader-facing reason for an Ajv error. */
export function ajvErrorReason(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'is required but missing';
    case 'additionalProperties':
      return 'is not an allowed field';
    case 'enum':
      return `must be one of ${JSON.stringify(params.allowedValues)}`;
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return error.message ?? error.keyword;
  }
}

/** Errors worth reporting: drops Ajv's summary errors for `if`/`then` branching. */
export function relevantErrors(errors: ErrorObject[] | null | undefined): ErrorObject[] {
  return (errors ?? []).filter((e) => e.keyword !== 'if');
}
