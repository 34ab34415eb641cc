import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { CatalogError } from './catalog-error';
import type { AgentSeed, Catalog, CatalogProblem, CommandSeed, WorkflowSeed } from './catalog.types';
import { validateCatalog, type ValidateCatalogOptions } from './catalog-validator';
import { ajvErrorField, ajvErrorReason, compileSchema } from './schema-compiler';
import { COMMAND_FILE_SCHEMA } from './seed-schemas';

export interface ReadCatalogResult {
  catalog: Catalog;
  /** Problems found while reading: missing directories, YAML syntax, file names, file structure. */
  problems: CatalogProblem[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function yamlFiles(seedsDir: string, sub: string, required: boolean, problems: CatalogProblem[]): string[] {
  const dir = join(seedsDir, sub);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    if (required) problems.push({ file: `${sub}/`, field: '(directory)', message: `directory ${dir} does not exist` });
    return [];
  }
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
}

function readYaml(seedsDir: string, file: string, problems: CatalogProblem[]): Record<string, unknown> | undefined {
  const text = readFileSync(join(seedsDir, file), 'utf8');
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const where = error.linePos?.[0];
      problems.push({
        file,
        field: where ? `line ${where.line}, column ${where.col}` : '(yaml)',
        message: `YAML syntax error: ${error.message.split('\n')[0]}`,
      });
    }
    return undefined;
  }
  const value: unknown = doc.toJS();
  if (!isRecord(value)) {
    problems.push({ file, field: '(root)', message: 'the file must contain a YAML mapping' });
    return undefined;
  }
  return value;
}

const baseName = (name: string): string => name.replace(/\.ya?ml$/, '');

/**
 * Reads seeds/agents, seeds/commands and seeds/workflows (workflows is optional) without applying
 * the catalog rules. Problems that prevent reading a file are returned; the file is then left out.
 */
export function readCatalog(seedsDir: string): ReadCatalogResult {
  const problems: CatalogProblem[] = [];
  const catalog: Catalog = { agents: [], commands: {}, workflows: [] };

  for (const name of yamlFiles(seedsDir, 'agents', true, problems)) {
    const file = `agents/${name}`;
    const value = readYaml(seedsDir, file, problems);
    if (!value) continue;
    if (value.slug !== baseName(name)) {
      problems.push({ file, field: 'slug', message: `must equal the file name "${baseName(name)}"` });
    }
    catalog.agents.push(value as unknown as AgentSeed);
  }

  const commandFiles = new Map<string, string>();
  for (const name of yamlFiles(seedsDir, 'commands', true, problems)) {
    const file = `commands/${name}`;
    const value = readYaml(seedsDir, file, problems);
    if (!value) continue;
    const validate = compileSchema(COMMAND_FILE_SCHEMA);
    const shape: unknown = value;
    if (!validate(shape)) {
      for (const e of validate.errors ?? [])
        problems.push({ file, field: ajvErrorField(e), message: ajvErrorReason(e) });
      if (typeof value.agent !== 'string' || !Array.isArray(value.commands)) continue;
    }
    const agent = value.agent as string;
    if (agent !== baseName(name)) {
      problems.push({ file, field: 'agent', message: `must equal the file name "${baseName(name)}"` });
    }
    const previous = commandFiles.get(agent);
    if (previous) {
      problems.push({ file, field: 'agent', message: `agent "${agent}" already has commands in ${previous}` });
      continue;
    }
    commandFiles.set(agent, file);
    catalog.commands[agent] = value.commands as CommandSeed[];
  }

  for (const name of yamlFiles(seedsDir, 'workflows', false, problems)) {
    const file = `workflows/${name}`;
    const value = readYaml(seedsDir, file, problems);
    if (!value) continue;
    if (value.id !== baseName(name)) {
      problems.push({ file, field: 'id', message: `must equal the file name "${baseName(name)}"` });
    }
    catalog.workflows.push(value as unknown as WorkflowSeed);
  }
  return { catalog, problems };
}

/** Reads and validates the seeds; throws CatalogError listing every problem with its file and field. */
export function loadCatalog(seedsDir: string, options?: ValidateCatalogOptions): Catalog {
  const { catalog, problems } = readCatalog(seedsDir);
  const all = [...problems, ...validateCatalog(catalog, options)];
  if (all.length > 0) throw new CatalogError(all);
  return catalog;
}
