/** The seed's features for the quality model, in this order. */
export const FEATURE_NAMES = [
  'prompt_length',
  'response_length',
  'tokens_used',
  'response_time',
  'agent_average_score',
  'command_difficulty',
  'has_code',
  'has_examples',
  'has_self_critique',
] as const;

export type FeatureVector = Record<(typeof FEATURE_NAMES)[number], number>;

export interface FeatureInput {
  promptLength: number;
  output: string;
  inputTokens: number;
  outputTokens: number;
  durationMs: number;
  agentAverageScore: number;
  commandDifficulty: number;
}

const CODE = /```|^ {4}\S/m;
const EXAMPLES = /\b(for example|e\.g\.|example:|examples?\b|for instance)/i;
const SELF_CRITIQUE =
  /\b(limitations?|caveats?|risks?|trade-?offs?|assumptions?|what could go wrong|self-critique|alternatives? considered|improvements?)\b/i;

export function hasCode(text: string): boolean {
  return CODE.test(text);
}
export function hasExamples(text: string): boolean {
  return EXAMPLES.test(text);
}
export function hasSelfCritique(text: string): boolean {
  return SELF_CRITIQUE.test(text);
}

export function extractFeatures(input: FeatureInput): FeatureVector {
  return {
    prompt_length: input.promptLength,
    response_length: input.output.length,
    tokens_used: input.inputTokens + input.outputTokens,
    response_time: input.durationMs / 1000,
    agent_average_score: input.agentAverageScore,
    command_difficulty: input.commandDifficulty,
    has_code: hasCode(input.output) ? 1 : 0,
    has_examples: hasExamples(input.output) ? 1 : 0,
    has_self_critique: hasSelfCritique(input.output) ? 1 : 0,
  };
}

export function featureRow(f: FeatureVector): number[] {
  return FEATURE_NAMES.map((n) => f[n]);
}
