/** Builders of valid seed objects for the unit tests (not exported from the library). */
import { AGENT_ROSTER, SEED_CATEGORY_COMMANDS } from './agent-roster';
import type { AgentSeed, Catalog, CommandSeed, WorkflowSeed } from './catalog.types';

export function makeAgent(slug: string, capabilities: string[]): AgentSeed {
  return {
    slug,
    name: `${slug} agent`,
    category: AGENT_ROSTER[slug]?.category ?? 'engineering',
    system_prompt: `Role: ${slug}\nResponsibilities:\n- Do the ${slug} work.\nCapabilities: [${capabilities.join(', ')}]\n`,
    capabilities,
    default_provider: 'openai',
    default_model: 'gpt-5-mini',
    max_concurrent_tasks: 3,
  };
}

export function makeCommand(name: string, overrides: Partial<CommandSeed> = {}): CommandSeed {
  return {
    name,
    category: 'dev',
    description: `Runs ${name}.`,
    difficulty: 2,
    template: `Perform ${name} on {subject}. Notes (may be empty): {notes}`,
    input_schema: {
      type: 'object',
      additionalProperties: false,
      required: ['subject'],
      properties: {
        subject: { type: 'string', minLength: 1, description: 'What to work on' },
        notes: { type: 'string', description: 'Anything else' },
      },
    },
    output_schema: {
      type: 'object',
      required: ['summary', 'details'],
      properties: {
        summary: { type: 'string', title: 'Summary', description: 'One paragraph' },
        details: { type: 'string', title: 'Details', description: 'The full answer' },
      },
    },
    ...overrides,
  };
}

export function makeWorkflow(overrides: Partial<WorkflowSeed> = {}): WorkflowSeed {
  return {
    id: 'build-feature',
    name: 'Build a feature',
    version: 1,
    description: 'Code, then review.',
    inputs: { type: 'object', required: ['feature'], properties: { feature: { type: 'string', minLength: 1 } } },
    steps: [
      { id: 'code', agent: 'coding', command: 'write_code', inputs: { subject: '${inputs.feature}' } },
      {
        id: 'review',
        agent: 'code-reviewer',
        command: 'review_code',
        inputs: { subject: '${steps.code.sections.details}', notes: 'Summary: ${steps.code.sections.summary}' },
        depends_on: ['code'],
      },
      {
        id: 'sign_off',
        type: 'approval',
        depends_on: ['review'],
        approvers: ['admin'],
        prompt: 'Ship it?',
        timeout_seconds: 3600,
        on_timeout: 'fail',
      },
    ],
    outputs: { code: '${steps.code.output}' },
    timeout_seconds: 7200,
    ...overrides,
  };
}

/** A catalog satisfying every default rule: the full roster, 24 commands each (360 in all), one workflow. */
export function makeValidCatalog(): Catalog {
  const catalog: Catalog = { agents: [], commands: {}, workflows: [makeWorkflow()] };
  for (const [slug, entry] of Object.entries(AGENT_ROSTER)) {
    catalog.agents.push(makeAgent(slug, [...entry.capabilities]));
    const names = [...entry.capabilities];
    for (const seed of SEED_CATEGORY_COMMANDS) {
      if (seed.agent === slug && !names.includes(seed.command)) names.push(seed.command);
    }
    for (let i = 1; names.length < 24; i += 1) names.push(`${slug.replace(/-/g, '_')}_extra_${i}`);
    catalog.commands[slug] = names.map((name) =>
      makeCommand(name, { template: `As ${slug}, perform ${name} on {subject}. Notes (may be empty): {notes}` }),
    );
  }
  return catalog;
}
