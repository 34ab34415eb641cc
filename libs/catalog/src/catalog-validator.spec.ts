import { makeAgent, makeCommand, makeValidCatalog } from './catalog.fixtures';
import type { Catalog, CommandSeed, InputSchema } from './catalog.types';
import { promptCapabilities, validateCatalog } from './catalog-validator';

function command(catalog: Catalog, agent: string, name: string): CommandSeed {
  const found = catalog.commands[agent].find((c) => c.name === name);
  if (!found) throw new Error(`fixture has no ${agent}/${name}`);
  return found;
}

function problem(file: string, field: string, message: string) {
  return expect.objectContaining({ file, field, message: expect.stringContaining(message) });
}

describe('validateCatalog', () => {
  it('accepts a catalog that follows every rule', () => {
    expect(validateCatalog(makeValidCatalog())).toEqual([]);
  });

  describe('templates and input schemas', () => {
    it('reports a placeholder that is not an input_schema property', () => {
      const catalog = makeValidCatalog();
      command(catalog, 'coding', 'debug').template = 'Debug {subject} using {stack_trace}. Notes: {notes}';
      expect(validateCatalog(catalog)).toEqual([
        problem('commands/coding.yaml', 'commands.debug.template', 'placeholder {stack_trace} is not a property'),
      ]);
    });

    it('reports an input_schema property that the template never uses', () => {
      const catalog = makeValidCatalog();
      command(catalog, 'coding', 'debug').template = 'Debug {subject} thoroughly.';
      expect(validateCatalog(catalog)).toEqual([
        problem('commands/coding.yaml', 'commands.debug.input_schema.properties.notes', 'is not used as a {notes}'),
      ]);
    });

    it('reports unescaped braces', () => {
      const catalog = makeValidCatalog();
      command(catalog, 'qa', 'report_bug').template = 'Report {subject} as JSON {"bug": 1}. Notes: {notes}';
      expect(validateCatalog(catalog)).toEqual([
        problem('commands/qa.yaml', 'commands.report_bug.template', 'is not a {snake_case} placeholder'),
      ]);
    });

    it('accepts {{ and }} as literal braces', () => {
      const catalog = makeValidCatalog();
      command(catalog, 'qa', 'report_bug').template = 'Report {subject} as JSON {{"bug": 1}}. Notes: {notes}';
      expect(validateCatalog(catalog)).toEqual([]);
    });

    it('reports an input_schema that does not compile', () => {
      const catalog = makeValidCatalog();
      const schema = command(catalog, 'hr', 'screen_resume').input_schema as InputSchema;
      schema.properties.subject = { type: 'strnig' };
      schema.properties.notes = { type: 'string', minLenght: 3 };
      const problems = validateCatalog(catalog);
      expect(problems).toContainEqual(
        problem('commands/hr.yaml', 'commands.screen_resume.input_schema', 'does not compile as JSON Schema'),
      );
      expect(problems.every((p) => p.file === 'commands/hr.yaml')).toBe(true);
    });

    it('reports a required input that is not a property', () => {
      const catalog = makeValidCatalog();
      command(catalog, 'hr', 'screen_resume').input_schema.required = ['subject', 'resume'];
      expect(validateCatalog(catalog)).toContainEqual(
        problem('commands/hr.yaml', 'commands.screen_resume.input_schema.required', '"resume" is required'),
      );
    });
  });

  describe('command fields', () => {
    it('reports difficulty outside 1..5 and an unknown category', () => {
      const catalog = makeValidCatalog();
      command(catalog, 'sales', 'update_crm').difficulty = 6;
      Object.assign(command(catalog, 'sales', 'draft_proposal'), { category: 'misc', difficulty: 0 });
      const problems = validateCatalog(catalog);
      expect(problems).toEqual([
        problem('commands/sales.yaml', 'commands.draft_proposal.category', 'must be one of ["dev","ops","biz"]'),
        problem('commands/sales.yaml', 'commands.draft_proposal.difficulty', 'must be >= 1'),
        problem('commands/sales.yaml', 'commands.update_crm.difficulty', 'must be <= 5'),
      ]);
    });

    it('reports output sections without a title or description, and duplicate titles', () => {
      const catalog = makeValidCatalog();
      const output = command(catalog, 'finance', 'analyze_roi').output_schema;
      output.properties.summary = { type: 'string', description: 'no title' } as never;
      output.properties.details = { type: 'string', title: 'Details', description: '' };
      output.properties.more = { type: 'string', title: 'details', description: 'same title' };
      const problems = validateCatalog(catalog);
      expect(problems).toContainEqual(
        problem('commands/finance.yaml', 'commands.analyze_roi.output_schema.properties.summary.title', 'is required'),
      );
      expect(problems).toContainEqual(
        problem(
          'commands/finance.yaml',
          'commands.analyze_roi.output_schema.properties.details.description',
          'must NOT have fewer than 1 characters',
        ),
      );
      expect(problems).toContainEqual(
        problem('commands/finance.yaml', 'commands.analyze_roi.output_schema.properties.more.title', 'same title'),
      );
    });

    it('reports duplicate command names within an agent', () => {
      const catalog = makeValidCatalog();
      catalog.commands.legal.push(makeCommand('review_contract', { template: 'Second review of {subject}: {notes}' }));
      expect(validateCatalog(catalog)).toEqual([
        problem('commands/legal.yaml', 'commands.review_contract.name', 'duplicate command name "review_contract"'),
      ]);
    });

    it('reports near-identical templates across agents', () => {
      const catalog = makeValidCatalog();
      const text =
        'Review the {subject} carefully and list every risk, its likelihood, its impact and a mitigation owner. Notes: {notes}';
      command(catalog, 'legal', 'review_contract').template = text;
      command(catalog, 'finance', 'track_budget').template =
        'REVIEW  the {notes} Carefully and list EVERY risk,\n its likelihood, its impact and a mitigation owner: {subject}';
      expect(validateCatalog(catalog)).toEqual([
        problem(
          'commands/legal.yaml',
          'commands.review_contract.template',
          'near-identical to finance/track_budget (token Jaccard similarity 0.93 ≥ 0.9)',
        ),
      ]);
    });
  });

  describe('counts, capabilities and the seed categories', () => {
    it('reports a capability without a command of that name', () => {
      const catalog = makeValidCatalog();
      catalog.commands.marketing = catalog.commands.marketing.filter((c) => c.name !== 'analyze_seo');
      expect(validateCatalog(catalog)).toEqual([
        problem('commands/marketing.yaml', 'commands', 'capability "analyze_seo" of agent "marketing" has no command'),
      ]);
    });

    it('reports an agent under 15 commands and a library under 350', () => {
      const catalog = makeValidCatalog();
      catalog.commands.marketing = catalog.commands.marketing.slice(0, 14);
      expect(validateCatalog(catalog)).toEqual([
        problem('commands/marketing.yaml', 'commands', 'agent "marketing" has 14 commands; at least 15 are required'),
      ]);
      catalog.commands.sales = catalog.commands.sales.slice(0, 14);
      expect(validateCatalog(catalog)).toContainEqual(
        problem('commands/', '(all)', 'the library has 340 commands; at least 350 are required'),
      );
    });

    it('reports a missing commands file', () => {
      const catalog = makeValidCatalog();
      delete catalog.commands.hr;
      const problems = validateCatalog(catalog);
      expect(problems).toEqual([
        problem(
          'commands/hr.yaml',
          '(file)',
          'agent "hr" has no commands file; it needs at least 15 commands, including screen_resume, schedule_interview, onboard_employee, conduct_review',
        ),
        problem('commands/', '(all)', 'the library has 336 commands; at least 350 are required'),
      ]);
      delete catalog.commands.devops;
      expect(validateCatalog(catalog)).toContainEqual(
        problem(
          'commands/devops.yaml',
          '(file)',
          'including deploy_staging, deploy_prod, rollback, check_health, scale_service, deploy, scale, check_logs',
        ),
      );
    });

    it('reports a missing seed Ops command on devops', () => {
      const catalog = makeValidCatalog();
      catalog.commands.devops = catalog.commands.devops.filter((c) => c.name !== 'check_logs');
      expect(validateCatalog(catalog)).toEqual([
        problem('commands/devops.yaml', 'commands', `the seed's Ops command "check_logs" must exist on agent "devops"`),
      ]);
    });

    it('reports a commands file for an unknown agent', () => {
      const catalog = makeValidCatalog();
      catalog.commands.ceo = [makeCommand('set_vision', { template: 'Set the vision for {subject}. {notes}' })];
      expect(validateCatalog(catalog)).toContainEqual(problem('commands/ceo.yaml', 'agent', 'no agent "ceo"'));
    });

    it('applies lower thresholds when asked', () => {
      const catalog: Catalog = {
        agents: [makeAgent('tiny', ['do_it'])],
        commands: { tiny: [makeCommand('do_it')] },
        workflows: [],
      };
      const options = {
        requireRoster: false,
        requireSeedCategoryCommands: false,
        minCommandsPerAgent: 1,
        minTotalCommands: 1,
      };
      expect(validateCatalog(catalog, options)).toEqual([]);
    });
  });

  describe('agents', () => {
    it('reports a system prompt whose Capabilities differ from capabilities', () => {
      const catalog = makeValidCatalog();
      const agent = catalog.agents.find((a) => a.slug === 'legal');
      if (!agent) throw new Error('fixture');
      agent.system_prompt = agent.system_prompt.replace(', analyze_license', '');
      expect(validateCatalog(catalog)).toEqual([
        problem('agents/legal.yaml', 'system_prompt', 'differs from capabilities'),
      ]);
    });

    it('reports a system prompt without the Role / Responsibilities / Capabilities form', () => {
      const catalog = makeValidCatalog();
      catalog.agents[0].system_prompt = 'You are a helpful assistant.';
      expect(validateCatalog(catalog)).toEqual([
        problem('agents/coding.yaml', 'system_prompt', 'must have a "Role:" line'),
        problem('agents/coding.yaml', 'system_prompt', 'must have a "Responsibilities:" line'),
        problem('agents/coding.yaml', 'system_prompt', 'exactly one "Capabilities: [a, b, ...]" line'),
      ]);
    });

    it("reports a roster agent that is missing or whose capabilities differ from FORMAT.md's", () => {
      const catalog = makeValidCatalog();
      catalog.agents = catalog.agents.filter((a) => a.slug !== 'hr');
      const qa = catalog.agents.find((a) => a.slug === 'qa');
      if (!qa) throw new Error('fixture');
      qa.capabilities = qa.capabilities.slice(1);
      qa.system_prompt = qa.system_prompt.replace('write_test_plan, ', '');
      const problems = validateCatalog(catalog);
      expect(problems).toContainEqual(
        problem('agents/hr.yaml', '(file)', 'agent "hr" of FORMAT.md\'s roster is missing'),
      );
      expect(problems).toContainEqual(problem('agents/qa.yaml', 'capabilities', 'must be [write_test_plan,'));
    });

    it('reports invalid agent fields', () => {
      const catalog = makeValidCatalog();
      Object.assign(catalog.agents[0], { default_provider: 'acme', max_concurrent_tasks: 0 });
      expect(validateCatalog(catalog)).toEqual([
        problem('agents/coding.yaml', 'default_provider', 'must be one of'),
        problem('agents/coding.yaml', 'max_concurrent_tasks', 'must be >= 1'),
      ]);
    });
  });
});

describe('promptCapabilities', () => {
  it('reads the Capabilities line', () => {
    expect(promptCapabilities('Role: x\nCapabilities: [a, b_c]\n')).toEqual(['a', 'b_c']);
    expect(promptCapabilities('Role: x\n')).toBeUndefined();
    expect(promptCapabilities('Capabilities: a, b')).toBeUndefined();
  });
});
