import type { AgentCategory } from './catalog.types';

export interface RosterEntry {
  category: AgentCategory;
  capabilities: readonly string[];
}

/** The fifteen agents of seeds/FORMAT.md and their capabilities (the ten from the seed are verbatim). */
export const AGENT_ROSTER: Readonly<Record<string, RosterEntry>> = {
  coding: {
    category: 'engineering',
    capabilities: [
      'write_code',
      'debug',
      'refactor',
      'write_test',
      'document_code',
      'optimize_performance',
      'implement_api',
    ],
  },
  'code-reviewer': {
    category: 'engineering',
    capabilities: ['review_code', 'review_pull_request', 'check_style', 'suggest_improvements', 'assess_complexity'],
  },
  qa: {
    category: 'engineering',
    capabilities: ['write_test_plan', 'generate_test_cases', 'write_test', 'run_regression', 'report_bug'],
  },
  devops: {
    category: 'engineering',
    capabilities: ['deploy_staging', 'deploy_prod', 'rollback', 'check_health', 'scale_service'],
  },
  security: {
    category: 'engineering',
    capabilities: ['run_security_scan', 'audit_access', 'rotate_keys', 'analyze_threat'],
  },
  'project-manager': {
    category: 'management',
    capabilities: ['plan_project', 'track_progress', 'manage_risks', 'allocate_resources', 'report_status'],
  },
  'product-manager': {
    category: 'management',
    capabilities: ['prioritize_backlog', 'define_roadmap', 'analyze_market', 'approve_story'],
  },
  'scrum-master': {
    category: 'management',
    capabilities: ['plan_sprint', 'run_standup', 'calculate_velocity', 'remove_blocker'],
  },
  'business-analyst': {
    category: 'management',
    capabilities: [
      'gather_requirements',
      'write_user_stories',
      'write_acceptance_criteria',
      'analyze_data',
      'model_process',
    ],
  },
  legal: {
    category: 'business',
    capabilities: ['review_contract', 'check_compliance', 'draft_policy', 'analyze_license'],
  },
  marketing: {
    category: 'business',
    capabilities: ['create_campaign', 'write_blog_post', 'analyze_seo', 'manage_social'],
  },
  sales: {
    category: 'business',
    capabilities: ['generate_leads', 'draft_proposal', 'negotiate_deal', 'update_crm'],
  },
  hr: {
    category: 'business',
    capabilities: ['screen_resume', 'schedule_interview', 'onboard_employee', 'conduct_review'],
  },
  finance: {
    category: 'business',
    capabilities: ['track_budget', 'generate_report', 'process_invoice', 'analyze_roi'],
  },
  'customer-success': {
    category: 'business',
    capabilities: ['answer_ticket', 'create_help_doc', 'onboard_customer', 'analyze_feedback'],
  },
};

/** The seed's key command categories (Dev / Ops / Biz) and the agent each must exist on. */
export const SEED_CATEGORY_COMMANDS: ReadonlyArray<{ category: string; agent: string; command: string }> = [
  { category: 'Dev', agent: 'coding', command: 'write_code' },
  { category: 'Dev', agent: 'coding', command: 'debug' },
  { category: 'Dev', agent: 'coding', command: 'refactor' },
  { category: 'Dev', agent: 'coding', command: 'write_test' },
  { category: 'Dev', agent: 'coding', command: 'document_code' },
  { category: 'Ops', agent: 'devops', command: 'deploy' },
  { category: 'Ops', agent: 'devops', command: 'rollback' },
  { category: 'Ops', agent: 'devops', command: 'scale' },
  { category: 'Ops', agent: 'devops', command: 'check_logs' },
  { category: 'Biz', agent: 'business-analyst', command: 'analyze_data' },
  { category: 'Biz', agent: 'sales', command: 'write_email' },
  { category: 'Biz', agent: 'legal', command: 'draft_contract' },
  { category: 'Biz', agent: 'scrum-master', command: 'plan_sprint' },
];

export const MIN_COMMANDS_PER_AGENT = 15;
export const MIN_TOTAL_COMMANDS = 350;
export const NEAR_DUPLICATE_THRESHOLD = 0.9;
