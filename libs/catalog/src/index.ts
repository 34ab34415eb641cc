export type {
  AgentCategory,
  AgentSeed,
  AgentStepSeed,
  ApprovalStepSeed,
  Catalog,
  CatalogProblem,
  CommandCategory,
  CommandFileSeed,
  CommandSeed,
  InputSchema,
  JsonSchema,
  OutputSchema,
  OutputSection,
  ProviderId,
  RetryPolicySeed,
  WorkflowSeed,
  WorkflowStepSeed,
} from './catalog.types';
export { isApprovalStep } from './catalog.types';
export { CatalogError, formatProblem } from './catalog-error';
export { TemplateError } from './template-error';
export {
  AGENT_ROSTER,
  MIN_COMMANDS_PER_AGENT,
  MIN_TOTAL_COMMANDS,
  NEAR_DUPLICATE_THRESHOLD,
  SEED_CATEGORY_COMMANDS,
} from './agent-roster';
export { loadCatalog, readCatalog, type ReadCatalogResult } from './seed-loader';
export {
  validateCatalog,
  validateCommandSeed,
  promptCapabilities,
  type ValidateCatalogOptions,
} from './catalog-validator';
export { validateWorkflow, findCycles, type WorkflowContext } from './workflow-validator';
export { parseReference, valueReferences, resolveInputs, type WorkflowReference } from './workflow-reference';
export {
  parseCondition,
  evaluateCondition,
  conditionReferences,
  ConditionSyntaxError,
  type Condition,
} from './condition-parser';
export { renderTemplate, outputInstructions } from './template-renderer';
export { parseTemplate, extractPlaceholders, type ParsedTemplate, type TemplatePart } from './template-parser';
export { parseSections, normalizeHeading } from './section-parser';
export { templateTokens, jaccard, findNearDuplicates, type NearDuplicate } from './template-similarity';
