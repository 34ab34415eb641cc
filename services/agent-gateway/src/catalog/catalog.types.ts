import type { AgentCategory, CommandCategory, InputSchema, OutputSchema } from '@hishamos/catalog';

/** Where an agent or a command came from: the seeds, or an admin (the seeder then leaves it alone). */
export type CatalogSource = 'seed' | 'admin';
/** Who wrote a template version: the seeder, an admin, or feedback-ml (a draft from a suggestion). */
export type TemplateSource = 'seed' | 'admin' | 'suggestion';

export interface CatalogAgent {
  slug: string;
  name: string;
  category: AgentCategory;
  systemPrompt: string;
  capabilities: string[];
  defaultProvider: string;
  defaultModel: string;
  maxConcurrentTasks: number;
  enabled: boolean;
  source: CatalogSource;
  updatedAt: string;
}

/** A command as listed: its metadata and which version each label selects. */
export interface CommandSummary {
  agent: string;
  name: string;
  category: CommandCategory;
  description: string;
  difficulty: number;
  enabled: boolean;
  source: CatalogSource;
  /** label -> version, e.g. { production: 2, latest: 3, seed: 2 }. */
  labels: Record<string, number>;
  /** The schemas of the `production` version. */
  inputSchema: InputSchema;
  outputSchema: OutputSchema;
}

/** One command resolved to one version: what the execution use case renders (and records the version of). */
export interface CatalogCommand {
  agent: string;
  name: string;
  category: CommandCategory;
  description: string;
  difficulty: number;
  enabled: boolean;
  template: string;
  inputSchema: InputSchema;
  outputSchema: OutputSchema;
  version: number;
  versionId: string;
  /** The labels on this version. */
  labels: string[];
  source: TemplateSource;
}

/** An immutable template version. */
export interface TemplateVersion {
  id: string;
  agent: string;
  command: string;
  version: number;
  template: string;
  inputSchema: InputSchema;
  outputSchema: OutputSchema;
  contentHash: string;
  createdBy: string;
  source: TemplateSource;
  note: string | null;
  createdAt: string;
  /** The labels on this version now. */
  labels: string[];
}

/** Which version of a command: an exact version, or the one a label selects (default `production`). */
export interface VersionSelector {
  version?: number;
  label?: string;
}

export interface NewTemplateVersion {
  agent: string;
  command: string;
  template: string;
  inputSchema: InputSchema;
  outputSchema: OutputSchema;
  createdBy: string;
  source: TemplateSource;
  note?: string | null;
  /** Labels to put on the new version besides the automatic ones (`latest`, except for suggestions). */
  labels?: string[];
}

export interface LabelMove {
  agent: string;
  command: string;
  label: string;
  fromVersion: number | null;
  toVersion: number;
  movedBy: string;
  movedAt: string;
}
