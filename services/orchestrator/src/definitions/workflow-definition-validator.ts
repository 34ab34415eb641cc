import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { validateWorkflow, type WorkflowSeed } from '@hishamos/catalog';
import type { AgentCatalog } from '../catalog/agent-catalog';

export interface DefinitionProblem {
  field: string;
  message: string;
}

export type ParsedText = { ok: true; value: Record<string, unknown> } | { ok: false; problems: DefinitionProblem[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks workflow definitions: the published JSON Schema (seeds/workflow.schema.json) and the rules
 * beyond it (DAG without cycles, agents, commands, required inputs, references), with every problem
 * named by step and field, e.g. `steps.review.depends_on: depends_on forms a cycle: review -> plan -> review`.
 */
export class WorkflowDefinitionValidator {
  private schemaCache?: object;

  constructor(
    private readonly catalog: AgentCatalog,
    private readonly seedsDir: string,
  ) {}

  /** The published JSON Schema of workflow definitions. */
  jsonSchema(): object {
    this.schemaCache ??= JSON.parse(readFileSync(join(this.seedsDir, 'workflow.schema.json'), 'utf8')) as object;
    return this.schemaCache;
  }

  /** Reads a YAML (or JSON, which is YAML) document into an object. */
  parseText(text: string): ParsedText {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return {
        ok: false,
        problems: doc.errors.map((e) => {
          const where = e.linePos?.[0];
          return {
            field: where ? `line ${where.line}, column ${where.col}` : '(yaml)',
            message: `YAML syntax error: ${e.message.split('\n')[0]}`,
          };
        }),
      };
    }
    const value: unknown = doc.toJS();
    if (!isRecord(value)) return { ok: false, problems: [{ field: '(root)', message: 'must be a mapping (object)' }] };
    return { ok: true, value };
  }

  /** Every problem with a definition; empty when it can run. */
  check(value: Record<string, unknown>): DefinitionProblem[] {
    return validateWorkflow(value as unknown as WorkflowSeed, 'definition', this.catalog.workflowContext()).map(
      (p) => ({ field: p.field, message: p.message }),
    );
  }
}
