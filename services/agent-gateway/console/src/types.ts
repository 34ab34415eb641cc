/** The shapes of the API responses the console reads (see the services' controllers). */

export type Role = 'admin' | 'operator' | 'member' | 'viewer';
export const ROLES: Role[] = ['admin', 'operator', 'member', 'viewer'];

export interface Identity {
  kind: 'user' | 'service';
  subject: string;
  roles: Role[];
  name?: string;
  teamId?: string;
  via: string;
}

export interface UserView {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  teamId: string | null;
  status: 'active' | 'disabled' | 'deleted';
  defaultAgentAccess: 'all' | 'none';
  hasPassword: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface AgentAccessView {
  userId: string;
  defaultAgentAccess: 'all' | 'none';
  decidedByRole: 'admin' | 'viewer' | null;
  agents: { slug: string; allowed: boolean; toggle: boolean | null }[];
}

export interface MeView {
  identity: Identity;
  user?: UserView;
  agentAccess?: AgentAccessView;
}

export interface LoginResult {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: string;
  user: UserView;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface ProviderView {
  id: string;
  kind: string;
  name: string;
  baseUrl: string | null;
  effectiveBaseUrl: string | null;
  defaultModel: string | null;
  enabled: boolean;
  priority: number;
  apiKeySet: boolean;
  apiKeyHint: string | null;
  lastTest: { at: string; ok: boolean; error: string | null } | null;
  updatedAt: string;
}

export interface ConnectionTestResult {
  provider: string;
  ok: boolean;
  status?: number;
  latencyMs?: number;
  modelCount?: number;
  models?: string[];
  error?: string;
}

export interface JsonSchema {
  type?: string | string[];
  description?: string;
  title?: string;
  enum?: unknown[];
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  examples?: unknown[];
}

export interface CatalogAgent {
  slug: string;
  name: string;
  category: string;
  systemPrompt: string;
  capabilities: string[];
  defaultProvider: string;
  defaultModel: string;
  maxConcurrentTasks: number;
  enabled: boolean;
}

export interface CommandSummary {
  agent: string;
  name: string;
  category: string;
  description: string;
  difficulty: number;
  enabled: boolean;
  labels: Record<string, number>;
  inputSchema: JsonSchema;
  outputSchema: JsonSchema;
}

export interface CatalogCommand extends CommandSummary {
  template: string;
  version: number;
}

export interface TemplateVersion {
  id: string;
  version: number;
  template: string;
  createdBy: string;
  source: string;
  note: string | null;
  createdAt: string;
  labels: string[];
}

export interface TemplateVersionList {
  data: TemplateVersion[];
  labels: Record<string, number>;
  history: { label: string; fromVersion: number | null; toVersion: number; movedBy: string; movedAt: string }[];
}

export interface ExecutionView {
  id: string;
  status: string;
  agent?: string;
  command?: string;
  templateVersion?: number;
  provider?: string;
  model?: string;
  offline: boolean;
  output?: string;
  sections?: Record<string, string>;
  usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number; estimated: boolean };
  error?: { code: string; message?: string };
  durationMs?: number;
  runId?: string;
}

export interface WorkflowSummary {
  id: string;
  name: string;
  version: number;
  description: string;
  steps: { id: string; type: string; agent?: string; command?: string; dependsOn: string[] }[];
  inputs: JsonSchema | null;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RunSummary {
  id: string;
  kind: 'task' | 'workflow';
  workflow: { id: string; name: string; version: number };
  status: RunStatus;
  userId: string;
  taskId: string | null;
  priority: string;
  error: string | null;
  errorStep: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
}

export interface RunStep {
  id: string;
  kind: 'agent' | 'approval';
  agent: string | null;
  command: string | null;
  dependsOn: string[];
  status: string;
  attempt: number;
  maxAttempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string | null } | null;
  detail: string | null;
  output: string | null;
  sections: Record<string, string> | null;
  executionId: string | null;
  provider: string | null;
  model: string | null;
  usage: { inputTokens: number; outputTokens: number };
  approval?: {
    prompt: string | null;
    approvers: string[];
    escalated: boolean;
    decidedBy: string | null;
    decision: string | null;
    comment: string | null;
  };
}

export interface RunDetail extends RunSummary {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  usage: { inputTokens: number; outputTokens: number };
  steps: RunStep[];
}

export interface RunEvent {
  seq: string;
  runId: string;
  kind: string;
  stepId: string | null;
  detail: string | null;
  at: string | null;
}

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: string;
  unpricedRequests: number;
}

export type UsageRow = UsageTotals &
  Partial<Record<'user' | 'team' | 'agent' | 'provider' | 'model' | 'command' | 'day', string>>;

export interface UsageQueryResult {
  timeZone: string;
  from: string;
  to: string;
  groupBy: string[];
  rows: UsageRow[];
  totals: UsageTotals;
  truncated: boolean;
}

export interface UsageRecord {
  id: string;
  requestId: string;
  userId: string;
  agent: string | null;
  command: string | null;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: string | null;
  priced: boolean;
  runId: string | null;
  occurredAt: string;
}

export interface PeriodSpend {
  periodStart: string;
  spentUsd: string;
  reservedUsd: string;
  requests: number;
  softUsd?: string;
  hardUsd?: string;
}

export interface BudgetView {
  budgetId: string;
  scope: 'user' | 'team' | 'global';
  scopeId: string;
  period: 'day' | 'week' | 'month';
  periodStart: string;
  softUsd: string | null;
  hardUsd: string | null;
  source: string;
  spentUsd: string;
  reservedUsd: string;
  remainingUsd: string | null;
  softReached: boolean;
  hardReached: boolean;
}

export interface UserSpend {
  userId: string;
  teamId: string | null;
  timeZone: string;
  asOf: string;
  day: PeriodSpend;
  week: PeriodSpend;
  month: PeriodSpend;
  budgets: BudgetView[];
}

export interface QualityScore {
  executionId: string;
  total: number;
  dimensions: Record<string, number>;
  modelVersion: string;
  scoredAt: string;
}

/** feedback-ml's stored rating (its column names). */
export interface FeedbackItem {
  id: string;
  rating: number;
  text: string | null;
  issues: string[];
  user_id: string;
  created_at: string;
}

export interface AlertRule {
  id: string;
  name: string;
  description: string;
  kind: 'event' | 'metric';
  eventType: string;
  condition: string;
  entity: string | null;
  resolveWhen: string | null;
  metric: {
    aggregate: string;
    value?: string;
    window: string;
    comparator: string;
    threshold: number | string;
  } | null;
  severity: string;
  channels: string[];
  cooldownMinutes: number;
  messageTemplate: string;
  notifyResolved: boolean;
  enabled: boolean;
  builtin: boolean;
  revision: number;
  updatedAt: string | null;
}

export interface AlertRuleCatalog {
  eventTypes: { name: string; doc: string; fields: { name: string; type: string; doc: string }[] }[];
  severities: string[];
  aggregates: string[];
  comparators: string[];
}

export interface AlertView {
  id: string;
  ruleName: string;
  entity: string | null;
  action: 'trigger' | 'resolve';
  severity: string;
  title: string;
  message: string;
  createdAt: string | null;
}

export interface DeliveryView {
  id: string;
  alertId: string;
  channel: string;
  channelType: string;
  action: string;
  status: string;
  attempts: number;
  lastError: string | null;
  createdAt: string | null;
  deliveredAt: string | null;
}

export interface NotificationView {
  id: string;
  title: string;
  message: string;
  type: string;
  isRead: boolean;
  link: string | null;
  createdAt: string | null;
}

export interface ChannelView {
  id: string;
  name: string;
  type: string;
  enabled: boolean;
}
