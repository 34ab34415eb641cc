/** Types of the seed files described in seeds/FORMAT.md. */

export type AgentCategory = 'engineering' | 'management' | 'business';
export type ProviderId = 'openai' | 'anthropic' | 'gemini' | 'openrouter' | 'offline';
export type CommandCategory = 'dev' | 'ops' | 'biz';

/** A JSON Schema (draft 2020-12 subset) as written in the seeds. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  [keyword: string]: unknown;
}

/** `input_schema` of a command: an object whose properties are the template's placeholders. */
export interface InputSchema extends JsonSchema {
  type: 'object';
  properties: Record<string, JsonSchema>;
  required?: string[];
}

/** One section of a command's answer: rendered as `## <title>`. */
export interface OutputSection {
  type?: 'string';
  title: string;
  description: string;
}

/** `output_schema` of a command: its properties are the answer's sections, in order. */
export interface OutputSchema {
  type: 'object';
  required?: string[];
  properties: Record<string, OutputSection>;
}

/** seeds/agents/<slug>.yaml */
export interface AgentSeed {
  slug: string;
  name: string;
  category: AgentCategory;
  system_prompt: string;
  capabilities: string[];
  default_provider: ProviderId;
  default_model: string;
  max_concurrent_tasks: number;
}

/** One entry of seeds/commands/<agent>.yaml */
export interface CommandSeed {
  name: string;
  category: CommandCategory;
  description: string;
  difficulty: number;
  template: string;
  input_schema: InputSchema;
  output_schema: OutputSchema;
}

/** seeds/commands/<agent>.yaml */
export interface CommandFileSeed {
  agent: string;
  commands: CommandSeed[];
}

export interface RetryPolicySeed {
  max_attempts: number;
  backoff_ms?: number;
  multiplier?: number;
  non_retryable?: string[];
}

/** A step that runs one command of one agent. */
export interface AgentStepSeed {
  id: string;
  type?: 'agent';
  agent: string;
  command: string;
  inputs?: Record<string, unknown>;
  depends_on?: string[];
  when?: string;
  retry?: RetryPolicySeed;
  timeout?: { attempt_seconds: number };
}

/** A step that pauses the run until a person approves or rejects. */
export interface ApprovalStepSeed {
  id: string;
  type: 'approval';
  depends_on?: string[];
  when?: string;
  approvers: string[];
  prompt: string;
  timeout_seconds?: number;
  on_timeout?: 'fail' | 'escalate';
}

export type WorkflowStepSeed = AgentStepSeed | ApprovalStepSeed;

/** seeds/workflows/<id>.yaml */
export interface WorkflowSeed {
  id: string;
  name: string;
  version: number;
  description: string;
  inputs: JsonSchema;
  steps: WorkflowStepSeed[];
  outputs?: Record<string, string>;
  timeout_seconds?: number;
}

/** Everything under seeds/: agents, commands keyed by agent slug, workflows. */
export interface Catalog {
  agents: AgentSeed[];
  commands: Record<string, CommandSeed[]>;
  workflows: WorkflowSeed[];
}

/** One thing wrong with the seeds, located by file (relative to the seeds directory) and field. */
export interface CatalogProblem {
  file: string;
  field: string;
  message: string;
}

export function isApprovalStep(step: WorkflowStepSeed): step is ApprovalStepSeed {
  return step.type === 'approval';
}
