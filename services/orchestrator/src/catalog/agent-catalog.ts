import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { loadCatalog, type Catalog, type CommandSeed, type WorkflowContext } from '@hishamos/catalog';

/** One problem with a set of inputs: the field (dotted path) and why. */
export interface InputProblem {
  field: string;
  reason: string;
}

function fieldOf(prefix: string, error: ErrorObject): string {
  let field = prefix;
  for (const raw of error.instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    field += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  }
  const params = error.params as Record<string, unknown>;
  const child =
    error.keyword === 'required'
      ? params.missingProperty
      : error.keyword === 'additionalProperties'
        ? params.additionalProperty
        : undefined;
  return typeof child === 'string' ? `${field}.${child}` : field;
}

function reasonOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'is required but missing';
    case 'additionalProperties':
      return 'is not an input of this command';
    case 'enum':
      return `must be one of ${JSON.stringify(params.allowedValues)}`;
    default:
      return error.message ?? error.keyword;
  }
}

/**
 * What the orchestrator knows from seeds/: the agents (and their own concurrency limits) and each
 * command's input schema. Loaded once at boot; the gateway's tables are never read.
 */
export class AgentCatalog {
  private readonly limits = new Map<string, number>();
  private readonly commands = new Map<string, CommandSeed>();
  private readonly validators = new Map<string, ValidateFunction>();
  /** Coerces "5" to 5 for integer inputs (the CLI sends k=v as text), nothing else. */
  private readonly ajv: Ajv2020;

  constructor(readonly catalog: Catalog) {
    for (const agent of catalog.agents) this.limits.set(agent.slug, agent.max_concurrent_tasks);
    for (const [agent, list] of Object.entries(catalog.commands)) {
      for (const command of list) this.commands.set(`${agent}/${command.name}`, command);
    }
    this.ajv = new Ajv2020({ allErrors: true, strict: false, coerceTypes: true, useDefaults: false });
    addFormats(this.ajv);
  }

  static load(seedsDir: string): AgentCatalog {
    return new AgentCatalog(loadCatalog(seedsDir));
  }

  hasAgent(agent: string): boolean {
    return this.limits.has(agent);
  }

  agents(): string[] {
    return [...this.limits.keys()].sort();
  }

  /** The agent's own max_concurrent_tasks (seeds/agents/<slug>.yaml). */
  agentLimit(agent: string): number | undefined {
    return this.limits.get(agent);
  }

  command(agent: string, command: string): CommandSeed | undefined {
    return this.commands.get(`${agent}/${command}`);
  }

  commandNames(agent: string): string[] {
    return (this.catalog.commands[agent] ?? []).map((c) => c.name);
  }

  /** The context validateWorkflow checks agents, commands and references against. */
  workflowContext(): WorkflowContext {
    return { agents: new Set(this.limits.keys()), commands: this.catalog.commands };
  }

  /**
   * Checks inputs against a JSON Schema (a command's input_schema or a workflow's inputs), converting
   * numeric and boolean text to the declared type in place. Returns every problem, fields prefixed.
   */
  validate(schema: object, inputs: Record<string, unknown>, prefix = 'inputs'): InputProblem[] {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(structuredClone(schema));
      this.validators.set(key, validate);
    }
    if (validate(inputs)) return [];
    return (validate.errors ?? [])
      .filter((e) => e.keyword !== 'if')
      .map((e) => ({ field: fieldOf(prefix, e), reason: reasonOf(e) }));
  }

  /** Problems with a command's inputs (unknown agent/command included). */
  validateCommandInputs(
    agent: string,
    command: string,
    inputs: Record<string, unknown>,
    prefix = 'inputs',
  ): InputProblem[] {
    if (!this.hasAgent(agent)) return [{ field: 'agent', reason: `unknown agent "${agent}"` }];
    const seed = this.command(agent, command);
    if (!seed) return [{ field: 'command', reason: `agent "${agent}" has no command "${command}"` }];
    return this.validate(seed.input_schema, inputs, prefix);
  }
}
