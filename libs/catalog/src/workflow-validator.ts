import type { CatalogProblem, CommandSeed, JsonSchema, WorkflowSeed } from './catalog.types';
import { ajvErrorField, ajvErrorReason, compileSchema, relevantErrors, schemaCompileError } from './schema-compiler';
import { ConditionSyntaxError, conditionReferences, parseCondition } from './condition-parser';
import { WORKFLOW_SEED_SCHEMA } from './seed-schemas';
import { valueReferences, type WorkflowReference } from './workflow-reference';

/** What a workflow may refer to: the agents and their commands. */
export interface WorkflowContext {
  agents: ReadonlySet<string>;
  commands: Readonly<Record<string, readonly CommandSeed[]>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function schemaTypes(schema: unknown): string[] | undefined {
  if (!isRecord(schema)) return undefined;
  const t = schema.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return undefined;
}

function typesCompatible(source: string[] | undefined, target: string[] | undefined): boolean {
  if (!source || !target) return true;
  return source.some((s) => target.includes(s) || (s === 'integer' && target.includes('number')));
}

/**
 * Constraints of a command input that the workflow input feeding it does not guarantee, so a run
 * could be accepted and then fail at that step (e.g. minLength 50 on the command, 1 on the workflow).
 */
export function looserConstraints(workflowInput: unknown, commandInput: unknown): string[] {
  if (!isRecord(workflowInput) || !isRecord(commandInput)) return [];
  const found: string[] = [];
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  if (Array.isArray(commandInput.enum)) {
    const allowed = commandInput.enum;
    const wfEnum = Array.isArray(workflowInput.enum) ? workflowInput.enum : undefined;
    const extra = wfEnum?.filter((v) => !allowed.some((a) => JSON.stringify(a) === JSON.stringify(v)));
    if (!wfEnum) found.push(`enum ${JSON.stringify(allowed)} (the workflow input has no enum)`);
    else if (extra && extra.length > 0)
      found.push(`enum ${JSON.stringify(allowed)} (the workflow allows ${JSON.stringify(extra)})`);
  }
  for (const keyword of ['minLength', 'minimum', 'minItems']) {
    const c = num(commandInput[keyword]);
    const w = num(workflowInput[keyword]);
    if (c !== undefined && (w === undefined || w < c))
      found.push(`${keyword} ${c} (the workflow input has ${w ?? 'none'})`);
  }
  for (const keyword of ['maxLength', 'maximum', 'maxItems']) {
    const c = num(commandInput[keyword]);
    const w = num(workflowInput[keyword]);
    if (c !== undefined && (w === undefined || w > c))
      found.push(`${keyword} ${c} (the workflow input has ${w ?? 'none'})`);
  }
  if (typeof commandInput.pattern === 'string' && workflowInput.pattern !== commandInput.pattern) {
    found.push(`pattern ${JSON.stringify(commandInput.pattern)}`);
  }
  return found;
}

/** Finds every cycle among depends_on edges; each is reported once as a path `a -> b -> a`. */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'active');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!edges.has(next)) continue;
      const s = state.get(next);
      if (s === 'active') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const members = cycle.slice(0, -1);
        const key = [...members].sort().join(',');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (s === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

function ancestorsOf(id: string, edges: ReadonlyMap<string, readonly string[]>): Set<string> {
  const result = new Set<string>();
  const pending = [...(edges.get(id) ?? [])];
  while (pending.length > 0) {
    const next = pending.pop() as string;
    if (result.has(next)) continue;
    result.add(next);
    pending.push(...(edges.get(next) ?? []));
  }
  return result;
}

/** Checks one workflow: shape, step ids, DAG, agents/commands, step inputs and references. */
export function validateWorkflow(workflow: WorkflowSeed, file: string, context: WorkflowContext): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const add = (field: string, message: string): void => {
    problems.push({ file, field, message });
  };
  const raw = workflow as unknown as Record<string, unknown>;
  const rawSteps: unknown[] = Array.isArray(raw.steps) ? raw.steps : [];
  const stepLabel = (index: number): string => {
    const step = rawSteps[index];
    return isRecord(step) && typeof step.id === 'string' ? `steps.${step.id}` : `steps[${index}]`;
  };

  const validateShape = compileSchema(WORKFLOW_SEED_SCHEMA);
  if (!validateShape(workflow)) {
    for (const error of relevantErrors(validateShape.errors)) {
      const field = ajvErrorField(error).replace(/^steps\[(\d+)\]/, (_m, i: string) => stepLabel(Number(i)));
      add(field, ajvErrorReason(error));
    }
  }
  if (!isRecord(raw)) return problems;

  const inputsSchema = isRecord(raw.inputs) ? (raw.inputs as JsonSchema) : undefined;
  if (inputsSchema) {
    const compileError = schemaCompileError(inputsSchema);
    if (compileError) add('inputs', `does not compile as JSON Schema: ${compileError}`);
  }
  const workflowInputs = isRecord(inputsSchema?.properties) ? inputsSchema.properties : {};
  const requiredWorkflowInputs = new Set(Array.isArray(inputsSchema?.required) ? inputsSchema.required : []);

  // Step ids and the dependency graph.
  const steps = new Map<string, Record<string, unknown>>();
  rawSteps.forEach((step, index) => {
    if (!isRecord(step) || typeof step.id !== 'string') return;
    if (steps.has(step.id)) add(`steps[${index}].id`, `duplicate step id "${step.id}"`);
    else steps.set(step.id, step);
  });
  const edges = new Map<string, string[]>();
  for (const [id, step] of steps) {
    const deps = Array.isArray(step.depends_on)
      ? step.depends_on.filter((d): d is string => typeof d === 'string')
      : [];
    for (const dep of deps) {
      if (dep === id) add(`steps.${id}.depends_on`, 'a step cannot depend on itself');
      else if (!steps.has(dep)) add(`steps.${id}.depends_on`, `refers to unknown step "${dep}"`);
    }
    edges.set(
      id,
      deps.filter((d) => d !== id && steps.has(d)),
    );
  }
  for (const cycle of findCycles(edges)) {
    add(`steps.${cycle[0]}.depends_on`, `depends_on forms a cycle: ${cycle.join(' -> ')}`);
  }

  const commandOf = (stepId: string): CommandSeed | undefined => {
    const step = steps.get(stepId);
    if (!step || step.type === 'approval' || typeof step.agent !== 'string') return undefined;
    return context.commands[step.agent]?.find((c) => c.name === step.command);
  };

  /** Checks a reference; `allowed` is the set of steps it may name (undefined: any step). */
  const checkRef = (ref: WorkflowReference, field: string, allowed: ReadonlySet<string> | undefined): void => {
    if (ref.kind === 'invalid') {
      add(
        field,
        `"${ref.text}" is not a valid reference (use inputs.<name>, steps.<id>.output or steps.<id>.sections.<key>)`,
      );
      return;
    }
    if (ref.kind === 'input') {
      if (!Object.prototype.hasOwnProperty.call(workflowInputs, ref.name)) {
        add(field, `"${ref.text}" refers to workflow input "${ref.name}", which the workflow's inputs do not declare`);
      }
      return;
    }
    const target = steps.get(ref.step);
    if (!target) {
      add(field, `"${ref.text}" refers to unknown step "${ref.step}"`);
      return;
    }
    if (allowed && !allowed.has(ref.step)) {
      add(field, `"${ref.text}" refers to step "${ref.step}", which is not an ancestor of this step in depends_on`);
      return;
    }
    if (target.type === 'approval') {
      add(field, `"${ref.text}" refers to approval step "${ref.step}", which has no output`);
      return;
    }
    if (ref.kind === 'section') {
      const command = commandOf(ref.step);
      const sections = isRecord(command?.output_schema?.properties) ? command.output_schema.properties : undefined;
      if (sections && !Object.prototype.hasOwnProperty.call(sections, ref.key)) {
        add(
          field,
          `"${ref.text}": "${ref.key}" is not a section of ${String(target.agent)}/${String(target.command)} ` +
            `(sections: ${Object.keys(sections).join(', ')})`,
        );
      }
    }
  };

  const checkValue = (value: unknown, field: string, allowed: ReadonlySet<string>): void => {
    if (typeof value === 'string') {
      const { refs, unterminated } = valueReferences(value);
      if (unterminated) add(field, 'has a "${" without a closing "}"');
      for (const ref of refs) checkRef(ref, field, allowed);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => checkValue(v, `${field}[${i}]`, allowed));
    } else if (isRecord(value)) {
      for (const [k, v] of Object.entries(value)) checkValue(v, `${field}.${k}`, allowed);
    }
  };

  /** The JSON type a step input value will have at run time, when it can be known. */
  const valueTypes = (value: string): string[] | undefined => {
    const { refs } = valueReferences(value);
    const whole = /^\s*\$\{[^}]*\}\s*$/.test(value) && refs.length === 1 ? refs[0] : undefined;
    if (whole?.kind === 'input') return schemaTypes(workflowInputs[whole.name]);
    return ['string'];
  };

  for (const [id, step] of steps) {
    const ancestors = ancestorsOf(id, edges);
    const base = `steps.${id}`;
    if (typeof step.when === 'string') {
      try {
        for (const ref of conditionReferences(parseCondition(step.when))) checkRef(ref, `${base}.when`, ancestors);
      } catch (error: unknown) {
        if (!(error instanceof ConditionSyntaxError)) throw error;
        add(`${base}.when`, `invalid condition: ${error.message}`);
      }
    }
    if (step.type === 'approval') continue;
    if (typeof step.agent !== 'string' || typeof step.command !== 'string') continue;
    if (!context.agents.has(step.agent)) {
      add(`${base}.agent`, `unknown agent "${step.agent}"`);
      continue;
    }
    const command = context.commands[step.agent]?.find((c) => c.name === step.command);
    if (!command) {
      add(`${base}.command`, `agent "${step.agent}" has no command "${step.command}"`);
      continue;
    }
    const inputs = isRecord(step.inputs) ? step.inputs : {};
    const properties = isRecord(command.input_schema?.properties) ? command.input_schema.properties : {};
    const required = Array.isArray(command.input_schema?.required) ? command.input_schema.required : [];
    for (const name of required) {
      if (!Object.prototype.hasOwnProperty.call(inputs, name)) {
        add(`${base}.inputs`, `required input "${name}" of ${step.agent}/${step.command} is not provided`);
      }
    }
    for (const [name, value] of Object.entries(inputs)) {
      const field = `${base}.inputs.${name}`;
      const property = properties[name];
      if (!property) {
        add(
          field,
          `${step.agent}/${step.command} has no input "${name}" (inputs: ${Object.keys(properties).join(', ')})`,
        );
        continue;
      }
      checkValue(value, field, ancestors);
      const hasRefs = typeof value === 'string' && value.includes('${');
      if (hasRefs) {
        const whole = /^\s*\$\{[^}]*\}\s*$/.test(value as string)
          ? valueReferences(value as string).refs[0]
          : undefined;
        if (
          whole?.kind === 'input' &&
          required.includes(name) &&
          whole.name in workflowInputs &&
          !requiredWorkflowInputs.has(whole.name)
        ) {
          add(
            field,
            `required input "${name}" of ${step.agent}/${step.command} is fed only by optional workflow input ` +
              `"${whole.name}"; make that input required or supply a default text`,
          );
        }
        if (whole?.kind === 'input' && whole.name in workflowInputs) {
          const looser = looserConstraints(workflowInputs[whole.name], property);
          if (looser.length > 0) {
            add(
              field,
              `workflow input "${whole.name}" does not guarantee ${step.agent}/${step.command}'s constraints: ` +
                looser.join('; '),
            );
          }
        }
        const source = valueTypes(value as string);
        const target = schemaTypes(property);
        if (!typesCompatible(source, target)) {
          add(field, `supplies ${source?.join('|')} but ${step.agent}/${step.command} expects ${target?.join('|')}`);
        }
      } else {
        try {
          const validate = compileSchema(property);
          if (!validate(value)) {
            const reasons = relevantErrors(validate.errors).map((e) => {
              const f = ajvErrorField(e);
              return f === '(root)' ? ajvErrorReason(e) : `${f} ${ajvErrorReason(e)}`;
            });
            add(
              field,
              `literal value does not match ${step.agent}/${step.command}'s input schema: ${reasons.join('; ')}`,
            );
          }
        } catch {
          // The command's own schema problem is reported against the command file.
        }
      }
    }
  }

  if (isRecord(raw.outputs)) {
    for (const [name, value] of Object.entries(raw.outputs)) {
      if (typeof value !== 'string') continue;
      const { refs, unterminated } = valueReferences(value);
      if (unterminated) add(`outputs.${name}`, 'has a "${" without a closing "}"');
      for (const ref of refs) checkRef(ref, `outputs.${name}`, undefined);
    }
  }
  return problems;
}
