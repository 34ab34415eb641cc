import { parseSections, type OutputSchema } from '@hishamos/catalog';
import { hasCode, hasExamples, hasSelfCritique } from './features';

/** The seed's five dimensions and their weights (sum 1). */
export const WEIGHTS = { completeness: 0.3, clarity: 0.2, correctness: 0.25, depth: 0.15, formatting: 0.1 } as const;
export type Dimension = keyof typeof WEIGHTS;

export interface QualityScore {
  /** 0-10, two decimals. */
  total: number;
  /** Each dimension 0-1, four decimals. */
  dimensions: Record<Dimension, number>;
  /** `heuristic-v1`, or `rf-v<N>` when a trained model predicted correctness. */
  modelVersion: string;
}

export interface ScoreInput {
  output: string;
  /** The command's output schema (named sections); absent for free-form chat (no command template). */
  outputSchema?: OutputSchema;
  /** Produced by the offline provider (no model): correctness cannot be judged from text. */
  offline?: boolean;
  /** The trained model's prediction of the rating (0-10) for this output, when a model is active. */
  predictedRating?: { value: number; version: string };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const clamp01 = (n: number) => Math.min(1, Math.max(0, n));

/** Text outside fenced code blocks, and whether the fences are balanced. */
function prose(text: string): { prose: string; balancedFences: boolean } {
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  let inFence = false;
  for (const line of lines) {
    if (/^ {0,3}(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (!inFence) out.push(line);
  }
  return { prose: out.join('\n'), balancedFences: !inFence };
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

/**
 * Completeness (30%): the share of the command's required sections present with content (the seed's
 * "present fields / required fields"). Output with no output schema (a chat with an agent through the
 * OpenAI-compatible API has no command template) is judged by generic structure signals instead
 * (`scoreStructure`).
 */
export function scoreCompleteness(output: string, schema?: OutputSchema): number {
  if (!schema || Object.keys(schema.properties).length === 0) return scoreStructure(output);
  const required = schema.required?.length ? schema.required : Object.keys(schema.properties);
  const sections = parseSections(output, schema);
  const present = required.filter((k) => (sections[k] ?? '').replace(/\s+/g, '').length > 0);
  return present.length / required.length;
}

/** The answer ends where an answer ends: terminal punctuation, a closed code block or list item. */
const FINISHED = /([.!?:;)\]"'`*_>|]|```|~~~)\s*$/;

/**
 * Completeness without sections to check: an answer is there (0.2), it is substantial (0.15 from 5
 * words, 0.3 from 20), it was not cut off — it ends on a finished sentence with its code fences closed
 * (0.3) — and it is organised in paragraphs, a list or headings (0.2). Empty output scores 0.
 */
export function scoreStructure(output: string): number {
  const w = words(output);
  if (w === 0) return 0;
  let score = 0.2;
  score += w >= 20 ? 0.3 : w >= 5 ? 0.15 : 0;
  const { prose: text, balancedFences } = prose(output);
  if (balancedFences && FINISHED.test(output.trimEnd())) score += 0.3;
  const paragraphs = text.split(/\n\s*\n/).filter((p) => p.trim()).length;
  if (paragraphs > 1 || /^ {0,3}(#{1,6}\s+\S|[-*+]\s+\S|\d+[.)]\s+\S)/m.test(text)) score += 0.2;
  return clamp01(score);
}

/**
 * Clarity (20%): the seed's signals — headings (0.4), lists (0.3), examples (0.3) — less a penalty
 * for walls of text: a paragraph over 150 words (-0.3) or sentences averaging over 35 words (-0.2).
 */
export function scoreClarity(output: string): number {
  const { prose: text } = prose(output);
  let score = 0;
  if (/^ {0,3}#{2,6}\s+\S/m.test(text)) score += 0.4;
  if (/^ {0,3}([-*+]|\d+[.)])\s+\S/m.test(text)) score += 0.3;
  if (hasExamples(output)) score += 0.3;
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (paragraphs.some((p) => words(p) > 150)) score -= 0.3;
  const sentences = text.split(/[.!?]+\s/).filter((s) => words(s) > 0);
  if (sentences.length > 0 && words(text) / sentences.length > 35) score -= 0.2;
  return clamp01(score);
}

const REFUSAL = /\b(I cannot|I can't|I am unable|I'm unable|as an AI( language model)?|I do not have access)\b/i;
const PLACEHOLDER = /\b(TODO|TBD|FIXME|lorem ipsum)\b|\[insert [^\]]*\]/i;

/**
 * Correctness (25%): the trained model's predicted rating / 10 when a model is active. Otherwise a
 * documented heuristic: 0.8 (the seed's fallback), minus 0.4 for a refusal, 0.2 for placeholders left
 * in, 0.2 for unbalanced code fences; offline output (no model produced it) gets 0.5.
 */
export function scoreCorrectness(output: string, input: Pick<ScoreInput, 'offline' | 'predictedRating'>): number {
  if (input.predictedRating) return clamp01(input.predictedRating.value / 10);
  if (input.offline) return 0.5;
  let score = 0.8;
  if (REFUSAL.test(output)) score -= 0.4;
  if (PLACEHOLDER.test(output)) score -= 0.2;
  if (!prose(output).balancedFences) score -= 0.2;
  return clamp01(score);
}

/** Depth (15%): length bands (<50, <150, <400, more words) plus code, examples and self-critique. */
export function scoreDepth(output: string): number {
  const w = words(output);
  let score = w < 50 ? 0.2 : w < 150 ? 0.45 : w < 400 ? 0.7 : 0.85;
  if (hasCode(output)) score += 0.05;
  if (hasExamples(output)) score += 0.05;
  if (hasSelfCritique(output)) score += 0.05;
  return clamp01(score);
}

/**
 * Formatting (10%): well-formed Markdown — balanced code fences (-0.4 otherwise), headings where the
 * command expects sections (-0.3), no prose line over 300 characters (-0.2), no runs of blank lines (-0.1).
 */
export function scoreFormatting(output: string, schema?: OutputSchema): number {
  const { prose: text, balancedFences } = prose(output);
  let score = 1;
  if (!balancedFences) score -= 0.4;
  if (schema && Object.keys(schema.properties).length > 0 && !/^ {0,3}##\s+\S/m.test(text)) score -= 0.3;
  if (text.split('\n').some((l) => l.length > 300)) score -= 0.2;
  if (/\n\s*\n\s*\n\s*\n/.test(output)) score -= 0.1;
  return clamp01(score);
}

/** The seed's weighted score, deterministic for a given output, schema and model. */
export function scoreOutput(input: ScoreInput): QualityScore {
  const dimensions: Record<Dimension, number> = {
    completeness: round(scoreCompleteness(input.output, input.outputSchema), 4),
    clarity: round(scoreClarity(input.output), 4),
    correctness: round(scoreCorrectness(input.output, input), 4),
    depth: round(scoreDepth(input.output), 4),
    formatting: round(scoreFormatting(input.output, input.outputSchema), 4),
  };
  const weighted = (Object.keys(WEIGHTS) as Dimension[]).reduce((sum, d) => sum + dimensions[d] * WEIGHTS[d], 0);
  return {
    total: round(weighted * 10, 2),
    dimensions,
    modelVersion: input.predictedRating?.version ?? 'heuristic-v1',
  };
}
