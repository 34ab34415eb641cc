import {
  AGENT_ROSTER,
  MIN_COMMANDS_PER_AGENT,
  MIN_TOTAL_COMMANDS,
  NEAR_DUPLICATE_THRESHOLD,
  SEED_CATEGORY_COMMANDS,
} from './agent-roster';
import type { AgentSeed, Catalog, CatalogProblem, CommandSeed } from './catalog.types';
import { ajvErrorField, ajvErrorReason, compileSchema, relevantErrors, schemaCompileError } from './schema-compiler';
import { AGENT_SEED_SCHEMA, COMMAND_SEED_SCHEMA } from './seed-schemas';
import { findNearDuplicates } from './template-similarity';
import { parseTemplate } from './template-parser';
import { validateWorkflow } from './workflow-validator';

export interface ValidateCatalogOptions {
  /** Require the fifteen agents of FORMAT.md's roster with exactly their capabilities (default true). */
  requireRoster?: boolean;
  /** Require the seed's Dev/Ops/Biz commands on their agents (default true). */
  requireSeedCategoryCommands?: boolean;
  minCommandsPerAgent?: number;
  minTotalCommands?: number;
  /** Token-level Jaccard similarity at or above which two templates are near-identical. */
  nearDuplicateThreshold?: number;
}

export const agentFile = (slug: string): string => `agents/${slug}.yaml`;
export const commandFile = (agent: string): string => `commands/${agent}.yaml`;
export const workflowFile = (id: string): string => `workflows/${id}.yaml`;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The list in the prompt's `Capabilities: [a, b]` line, or undefined when there is no such line. */
export function promptCapabilities(systemPrompt: string): string[] | undefined {
  const lines = systemPrompt.split(/\r?\n/).filter((l) => /^\s*Capabilities:/.test(l));
  if (lines.length !== 1) return undefined;
  const m = /^\s*Capabilities:\s*\[([^\]]*)\]\s*$/.exec(lines[0]);
  if (!m) return undefined;
  return m[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function validateAgent(agent: AgentSeed, add: (field: string, message: string) => void): void {
  const validate = compileSchema(AGENT_SEED_SCHEMA);
  if (!validate(agent)) {
    for (const e of relevantErrors(validate.errors)) add(ajvErrorField(e), ajvErrorReason(e));
  }
  const capabilities = Array.isArray(agent.capabilities) ? agent.capabilities : [];
  if (typeof agent.system_prompt === 'string') {
    for (const heading of ['Role:', 'Responsibilities:']) {
      if (!agent.system_prompt.split(/\r?\n/).some((l) => l.trim().startsWith(heading))) {
        add('system_prompt', `must have a "${heading}" line (Role / Responsibilities / Capabilities form)`);
      }
    }
    const listed = promptCapabilities(agent.system_prompt);
    if (!listed) {
      add('system_prompt', 'must have exactly one "Capabilities: [a, b, ...]" line');
    } else if (!sameList(listed, capabilities)) {
      add(
        'system_prompt',
        `its Capabilities line [${listed.join(', ')}] differs from capabilities [${capabilities.join(', ')}]`,
      );
    }
  }
  const roster = AGENT_ROSTER[agent.slug];
  if (roster) {
    if (!sameList(capabilities, roster.capabilities)) {
      add('capabilities', `must be [${roster.capabilities.join(', ')}] (FORMAT.md), got [${capabilities.join(', ')}]`);
    }
    if (agent.category !== roster.category) add('category', `must be "${roster.category}" (FORMAT.md)`);
  }
}

function validateCommand(command: CommandSeed, add: (field: string, message: string) => void): void {
  const validate = compileSchema(COMMAND_SEED_SCHEMA);
  if (!validate(command)) {
    for (const e of relevantErrors(validate.errors)) add(ajvErrorField(e), ajvErrorReason(e));
  }
  const input = isRecord(command.input_schema) ? command.input_schema : undefined;
  const inputProps = isRecord(input?.properties) ? input.properties : {};
  if (input) {
    const error = schemaCompileError(input);
    if (error) add('input_schema', `does not compile as JSON Schema: ${error}`);
    for (const name of Array.isArray(input.required) ? input.required : []) {
      if (!(name in inputProps)) add('input_schema.required', `"${name}" is required but not a property`);
    }
    for (const name of Object.keys(inputProps)) {
      if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(name)) {
        add(`input_schema.properties.${name}`, 'property names must be snake_case (they are placeholders)');
      }
    }
  }
  if (typeof command.template === 'string') {
    const parsed = parseTemplate(command.template);
    for (const error of parsed.errors) add('template', error);
    for (const name of parsed.placeholders) {
      if (!(name in inputProps)) add('template', `placeholder {${name}} is not a property of input_schema`);
    }
    for (const name of Object.keys(inputProps)) {
      if (!parsed.placeholders.includes(name)) {
        add(`input_schema.properties.${name}`, `is not used as a {${name}} placeholder in the template`);
      }
    }
  }
  const output = isRecord(command.output_schema) ? command.output_schema : undefined;
  const outputProps = isRecord(output?.properties) ? output.properties : {};
  if (output) {
    const error = schemaCompileError(output);
    if (error) add('output_schema', `does not compile as JSON Schema: ${error}`);
    for (const name of Array.isArray(output.required) ? output.required : []) {
      if (!(name in outputProps)) add('output_schema.required', `"${name}" is required but not a property`);
    }
    const titles = new Map<string, string>();
    for (const [key, section] of Object.entries(outputProps)) {
      const title = isRecord(section) && typeof section.title === 'string' ? section.title.trim().toLowerCase() : '';
      if (!title) continue;
      const other = titles.get(title);
      if (other) add(`output_schema.properties.${key}.title`, `same title as section "${other}"`);
      else titles.set(title, key);
    }
  }
}

/**
 * Every problem with one command on its own (the seed schema, placeholders against the input schema,
 * schemas that compile, distinct output section titles); `field` is relative to the command. Used for
 * template versions written through the API (admin edits, suggestions), which are not in a catalog.
 */
export function validateCommandSeed(command: CommandSeed): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  validateCommand(command, (field, message) => problems.push({ field, message }));
  return problems;
}

/** Every problem with the catalog, per the rules of seeds/FORMAT.md; empty when it is valid. */
export function validateCatalog(catalog: Catalog, options: ValidateCatalogOptions = {}): CatalogProblem[] {
  const requireRoster = options.requireRoster ?? true;
  const requireSeedCategoryCommands = options.requireSeedCategoryCommands ?? true;
  const minPerAgent = options.minCommandsPerAgent ?? MIN_COMMANDS_PER_AGENT;
  const minTotal = options.minTotalCommands ?? MIN_TOTAL_COMMANDS;
  const threshold = options.nearDuplicateThreshold ?? NEAR_DUPLICATE_THRESHOLD;
  const problems: CatalogProblem[] = [];
  const adder =
    (file: string, prefix = '') =>
    (field: string, message: string): void => {
      problems.push({ file, field: prefix && field ? `${prefix}.${field}` : prefix || field, message });
    };

  // Agents.
  const agents = new Map<string, AgentSeed>();
  catalog.agents.forEach((agent, index) => {
    const slug = isRecord(agent) && typeof agent.slug === 'string' ? agent.slug : `#${index}`;
    const add = adder(agentFile(slug));
    if (agents.has(slug)) add('slug', `duplicate agent slug "${slug}"`);
    else agents.set(slug, agent);
    validateAgent(agent, add);
  });
  if (requireRoster) {
    for (const slug of Object.keys(AGENT_ROSTER)) {
      if (!agents.has(slug)) adder(agentFile(slug))('(file)', `agent "${slug}" of FORMAT.md's roster is missing`);
    }
  }

  // Commands.
  let total = 0;
  const allCommands: { agent: string; command: CommandSeed }[] = [];
  for (const [agentSlug, commands] of Object.entries(catalog.commands)) {
    const file = commandFile(agentSlug);
    if (!agents.has(agentSlug)) adder(file)('agent', `no agent "${agentSlug}" (expected ${agentFile(agentSlug)})`);
    const names = new Set<string>();
    commands.forEach((command, index) => {
      const name = isRecord(command) && typeof command.name === 'string' ? command.name : `[${index}]`;
      const add = adder(file, `commands.${name}`);
      if (names.has(name)) add('name', `duplicate command name "${name}" for agent ${agentSlug}`);
      names.add(name);
      validateCommand(command, add);
      allCommands.push({ agent: agentSlug, command });
    });
    total += commands.length;
  }
  for (const [slug, agent] of agents) {
    const add = adder(commandFile(slug));
    const capabilities = Array.isArray(agent.capabilities) ? agent.capabilities : [];
    const seedCommands = requireSeedCategoryCommands
      ? SEED_CATEGORY_COMMANDS.filter((s) => s.agent === slug).map((s) => s.command)
      : [];
    const commands = catalog.commands[slug];
    if (!commands) {
      const needed = [...new Set([...capabilities, ...seedCommands])];
      add(
        '(file)',
        `agent "${slug}" has no commands file; it needs at least ${minPerAgent} commands, including ${needed.join(', ')}`,
      );
      continue;
    }
    if (commands.length < minPerAgent) {
      add('commands', `agent "${slug}" has ${commands.length} commands; at least ${minPerAgent} are required`);
    }
    const names = new Set(commands.map((c) => c.name));
    for (const capability of capabilities) {
      if (!names.has(capability)) {
        add('commands', `capability "${capability}" of agent "${slug}" has no command named "${capability}"`);
      }
    }
  }
  if (requireSeedCategoryCommands) {
    for (const { category, agent, command } of SEED_CATEGORY_COMMANDS) {
      const commands = catalog.commands[agent];
      if (agents.has(agent) && !commands) continue; // reported above with the missing file
      if (!(commands ?? []).some((c) => c.name === command)) {
        adder(commandFile(agent))(
          'commands',
          `the seed's ${category} command "${command}" must exist on agent "${agent}"`,
        );
      }
    }
  }
  if (total < minTotal) {
    adder('commands/')('(all)', `the library has ${total} commands; at least ${minTotal} are required`);
  }
  const withTemplates = allCommands.filter(({ command }) => typeof command.template === 'string');
  for (const { a, b, similarity } of findNearDuplicates(withTemplates, (x) => x.command.template, threshold)) {
    adder(commandFile(a.agent), `commands.${a.command.name}`)(
      'template',
      `near-identical to ${b.agent}/${b.command.name} (token Jaccard similarity ${similarity.toFixed(2)} ≥ ${threshold})`,
    );
  }

  // Workflows.
  const context = { agents: new Set(agents.keys()), commands: catalog.commands };
  const workflowIds = new Set<string>();
  catalog.workflows.forEach((workflow, index) => {
    const id = isRecord(workflow) && typeof workflow.id === 'string' ? workflow.id : `#${index}`;
    const file = workflowFile(id);
    if (workflowIds.has(id)) adder(file)('id', `duplicate workflow id "${id}"`);
    workflowIds.add(id);
    problems.push(...validateWorkflow(workflow, file, context));
  });
  return problems;
}
