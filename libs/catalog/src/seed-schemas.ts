/** JSON Schemas of the seed files themselves (seeds/FORMAT.md), checked with Ajv before the semantic rules. */

const KEBAB = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const SNAKE = '^[a-z][a-z0-9]*(_[a-z0-9]+)*$';
const nonEmpty = { type: 'string', minLength: 1, pattern: '\\S' };
const objectSchema = {
  type: 'object',
  required: ['type', 'properties'],
  properties: {
    type: { const: 'object' },
    properties: { type: 'object' },
    required: { type: 'array', items: { type: 'string' }, uniqueItems: true },
  },
};

export const AGENT_SEED_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'slug',
    'name',
    'category',
    'system_prompt',
    'capabilities',
    'default_provider',
    'default_model',
    'max_concurrent_tasks',
  ],
  properties: {
    slug: { type: 'string', pattern: KEBAB },
    name: nonEmpty,
    category: { enum: ['engineering', 'management', 'business'] },
    system_prompt: nonEmpty,
    capabilities: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: SNAKE } },
    default_provider: { enum: ['openai', 'anthropic', 'gemini', 'openrouter', 'offline'] },
    default_model: nonEmpty,
    max_concurrent_tasks: { type: 'integer', minimum: 1 },
  },
};

export const COMMAND_SEED_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'category', 'description', 'difficulty', 'template', 'input_schema', 'output_schema'],
  properties: {
    name: { type: 'string', pattern: SNAKE },
    category: { enum: ['dev', 'ops', 'biz'] },
    description: nonEmpty,
    difficulty: { type: 'integer', minimum: 1, maximum: 5 },
    template: nonEmpty,
    input_schema: objectSchema,
    output_schema: {
      ...objectSchema,
      properties: {
        ...objectSchema.properties,
        properties: {
          type: 'object',
          minProperties: 1,
          additionalProperties: {
            type: 'object',
            required: ['title', 'description'],
            properties: { type: { const: 'string' }, title: nonEmpty, description: nonEmpty },
          },
        },
      },
    },
  },
};

export const COMMAND_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['agent', 'commands'],
  properties: {
    agent: { type: 'string', pattern: KEBAB },
    commands: { type: 'array', items: { type: 'object' } },
  },
};

const dependsOn = { type: 'array', uniqueItems: true, items: { type: 'string' } };

const AGENT_STEP = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'agent', 'command'],
  properties: {
    id: { type: 'string', pattern: SNAKE },
    type: { const: 'agent' },
    agent: { type: 'string', pattern: KEBAB },
    command: { type: 'string', pattern: SNAKE },
    inputs: { type: 'object' },
    depends_on: dependsOn,
    when: nonEmpty,
    retry: {
      type: 'object',
      additionalProperties: false,
      required: ['max_attempts'],
      properties: {
        max_attempts: { type: 'integer', minimum: 1 },
        backoff_ms: { type: 'integer', minimum: 0 },
        multiplier: { type: 'number', minimum: 1 },
        non_retryable: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: SNAKE } },
      },
    },
    timeout: {
      type: 'object',
      additionalProperties: false,
      required: ['attempt_seconds'],
      properties: { attempt_seconds: { type: 'integer', minimum: 1 } },
    },
  },
};

const APPROVAL_STEP = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'approvers', 'prompt'],
  properties: {
    id: { type: 'string', pattern: SNAKE },
    type: { const: 'approval' },
    depends_on: dependsOn,
    when: nonEmpty,
    approvers: { type: 'array', minItems: 1, uniqueItems: true, items: nonEmpty },
    prompt: nonEmpty,
    timeout_seconds: { type: 'integer', minimum: 1 },
    on_timeout: { enum: ['fail', 'escalate'] },
  },
};

export const WORKFLOW_SEED_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'version', 'description', 'inputs', 'steps'],
  properties: {
    id: { type: 'string', pattern: KEBAB },
    name: nonEmpty,
    version: { type: 'integer', minimum: 1 },
    description: nonEmpty,
    inputs: objectSchema,
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        if: { type: 'object', required: ['type'], properties: { type: { const: 'approval' } } },
        then: APPROVAL_STEP,
        else: AGENT_STEP,
      },
    },
    outputs: { type: 'object', additionalProperties: { type: 'string' } },
    timeout_seconds: { type: 'integer', minimum: 1 },
  },
};
